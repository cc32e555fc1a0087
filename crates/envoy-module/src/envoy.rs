//! Safe wrappers around the callbacks Envoy gives a filter during one hook.

use crate::abi::{self, FilterEnvoyPtr, ModuleBuffer, ModuleHeader};

/// Envoy's side of one request's filter, valid for the duration of the current hook.
pub(crate) struct Stream {
    ptr: FilterEnvoyPtr,
}

/// What the filter asks of Envoy during one hook: [`Stream`] through Envoy's callbacks, and in
/// tests a model of Envoy (`crate::fuzz`) that drives the same filter code.
pub(crate) trait Host {
    /// The request headers as owned (name, value) pairs.
    fn request_headers(&self) -> Vec<(String, Vec<u8>)>;

    /// The response headers as owned (name, value) pairs.
    fn response_headers(&self) -> Vec<(String, Vec<u8>)>;

    /// Sets (overwriting) a request header.
    fn set_request_header(&self, key: &str, value: &[u8]);

    /// Removes a request header.
    fn remove_request_header(&self, key: &str);

    /// Sets (overwriting) a response header.
    fn set_response_header(&self, key: &str, value: &[u8]);

    /// Removes a response header.
    fn remove_response_header(&self, key: &str);

    /// Sends an HTTP request to `cluster`; its answer arrives in the `http_callout_done`
    /// hook with the returned id. `Err` carries Envoy's reason for not sending it.
    fn callout(
        &self,
        cluster: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> Result<u64, u32>;

    /// Resumes a request this filter stopped (from a hook that is not the stopped one).
    fn continue_decoding(&self);

    /// Resumes a response this filter stopped.
    fn continue_encoding(&self);

    /// Has Envoy pick the route again (after headers that routes match changed).
    fn clear_route_cache(&self);

    /// Answers the client directly.
    fn send_response(&self, status: u16, headers: &[(&str, &str)], body: &[u8]);

    /// The whole request body at its end: what Envoy buffered plus the last chunk.
    fn request_body(&self) -> Vec<u8>;

    /// The request body Envoy buffered (whole, once this filter stopped at its end).
    fn buffered_request_body(&self) -> Vec<u8>;

    /// The response body chunk of this event.
    fn response_chunk(&self) -> Vec<u8>;

    /// Replaces the response body chunk of this event with `chunk`.
    fn replace_response_chunk(&self, chunk: &[u8]);

    /// Replaces the request body (buffered and last chunk) with `body`.
    fn replace_request_body(&self, body: &[u8]);

    /// Sets a string in the dynamic metadata.
    fn set_metadata_string(&self, ns: &str, key: &str, value: &str);

    /// Sets a number in the dynamic metadata.
    fn set_metadata_number(&self, ns: &str, key: &str, value: f64);
}

impl Stream {
    /// # Safety
    /// `ptr` is the filter pointer Envoy passed to the running hook; the `Stream` must not
    /// outlive that hook.
    pub(crate) unsafe fn new(ptr: FilterEnvoyPtr) -> Self {
        Self { ptr }
    }

    fn headers(&self, kind: u32) -> Vec<(String, Vec<u8>)> {
        // SAFETY: `self.ptr` is Envoy's live filter pointer for this hook (see `new`).
        let n = unsafe { abi::envoy_dynamic_module_callback_http_get_headers_size(self.ptr, kind) };
        let empty = abi::EnvoyHeader {
            key_ptr: std::ptr::null(),
            key_length: 0,
            value_ptr: std::ptr::null(),
            value_length: 0,
        };
        let mut raw = vec![empty; n];
        // SAFETY: `raw` has room for the `n` headers Envoy just counted, as the callback
        // requires; nothing changes the headers between the two calls (same thread, no
        // setter in between).
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_get_headers(self.ptr, kind, raw.as_mut_ptr())
        };
        if !ok {
            return Vec::new();
        }
        raw.iter()
            .map(|h| {
                // SAFETY: Envoy filled each entry with pointers into its header map, valid
                // until this hook returns or a setter is called; both are copied right away.
                let (key, value) = unsafe {
                    (
                        bytes(h.key_ptr, h.key_length),
                        bytes(h.value_ptr, h.value_length),
                    )
                };
                (String::from_utf8_lossy(key).into_owned(), value.to_vec())
            })
            .collect()
    }

    /// Sets a header; a null `value` removes it (per the ABI).
    fn set_header(&self, kind: u32, key: &str, value: ModuleBuffer) {
        // SAFETY: live filter pointer; both buffers point into memory borrowed for the call,
        // which Envoy copies.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_header(
                self.ptr,
                kind,
                ModuleBuffer::of(key.as_bytes()),
                value,
            );
        }
    }

    fn append_chunks(&self, kind: u32, out: &mut Vec<u8>) {
        // SAFETY: live filter pointer.
        let n =
            unsafe { abi::envoy_dynamic_module_callback_http_get_body_chunks_size(self.ptr, kind) };
        if n == 0 {
            return;
        }
        let empty = abi::EnvoyBuffer {
            ptr: std::ptr::null(),
            length: 0,
        };
        let mut chunks = vec![empty; n];
        // SAFETY: `chunks` has room for the `n` buffers Envoy just counted.
        let ok = unsafe {
            abi::envoy_dynamic_module_callback_http_get_body_chunks(
                self.ptr,
                kind,
                chunks.as_mut_ptr(),
            )
        };
        if !ok {
            return;
        }
        for chunk in &chunks {
            // SAFETY: Envoy filled each entry with a slice of its buffer, valid until this
            // hook returns or the body changes; it is copied right away.
            out.extend_from_slice(unsafe { bytes(chunk.ptr, chunk.length) });
        }
    }
}

impl Host for Stream {
    /// The request headers as owned (name, value) pairs.
    fn request_headers(&self) -> Vec<(String, Vec<u8>)> {
        self.headers(abi::REQUEST_HEADERS)
    }

    /// The response headers as owned (name, value) pairs.
    fn response_headers(&self) -> Vec<(String, Vec<u8>)> {
        self.headers(abi::RESPONSE_HEADERS)
    }

    /// Sets (overwriting) a request header.
    fn set_request_header(&self, key: &str, value: &[u8]) {
        self.set_header(abi::REQUEST_HEADERS, key, ModuleBuffer::of(value));
    }

    /// Removes a request header.
    fn remove_request_header(&self, key: &str) {
        self.set_header(abi::REQUEST_HEADERS, key, ModuleBuffer::null());
    }

    /// Sets (overwriting) a response header.
    fn set_response_header(&self, key: &str, value: &[u8]) {
        self.set_header(abi::RESPONSE_HEADERS, key, ModuleBuffer::of(value));
    }

    /// Removes a response header.
    fn remove_response_header(&self, key: &str) {
        self.set_header(abi::RESPONSE_HEADERS, key, ModuleBuffer::null());
    }

    /// Sends an HTTP request to `cluster`; its answer arrives in the `http_callout_done`
    /// hook with the returned id. `Err` carries Envoy's reason for not sending it.
    fn callout(
        &self,
        cluster: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout_ms: u64,
    ) -> Result<u64, u32> {
        let mut raw: Vec<ModuleHeader> = headers
            .iter()
            .map(|(k, v)| ModuleHeader {
                key_ptr: k.as_ptr(),
                key_length: k.len(),
                value_ptr: v.as_ptr(),
                value_length: v.len(),
            })
            .collect();
        let mut id = 0_u64;
        // SAFETY: live filter pointer; `id` is a valid place for Envoy to write the callout's
        // id; the cluster name, headers and body outlive the call and Envoy copies them.
        let result = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_http_callout(
                self.ptr,
                &mut id,
                ModuleBuffer::of(cluster.as_bytes()),
                raw.as_mut_ptr(),
                raw.len(),
                ModuleBuffer::of(body),
                timeout_ms,
            )
        };
        if result == abi::CALLOUT_STARTED {
            Ok(id)
        } else {
            Err(result)
        }
    }

    /// Resumes a request this filter stopped (from a hook that is not the stopped one).
    fn continue_decoding(&self) {
        // SAFETY: live filter pointer; the callback takes nothing else.
        unsafe { abi::envoy_dynamic_module_callback_http_filter_continue_decoding(self.ptr) }
    }

    /// Resumes a response this filter stopped.
    fn continue_encoding(&self) {
        // SAFETY: live filter pointer; the callback takes nothing else.
        unsafe { abi::envoy_dynamic_module_callback_http_filter_continue_encoding(self.ptr) }
    }

    /// Has Envoy pick the route again (after headers that routes match changed).
    fn clear_route_cache(&self) {
        // SAFETY: live filter pointer; the callback takes nothing else.
        unsafe { abi::envoy_dynamic_module_callback_http_clear_route_cache(self.ptr) }
    }

    /// Answers the client directly.
    fn send_response(&self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let mut raw: Vec<ModuleHeader> = headers
            .iter()
            .map(|(k, v)| ModuleHeader {
                key_ptr: k.as_ptr(),
                key_length: k.len(),
                value_ptr: v.as_ptr(),
                value_length: v.len(),
            })
            .collect();
        let details = b"mcp_gateway_module";
        // SAFETY: live filter pointer; `raw`, `body` and `details` outlive the call and
        // Envoy copies them.
        unsafe {
            abi::envoy_dynamic_module_callback_http_send_response(
                self.ptr,
                u32::from(status),
                raw.as_mut_ptr(),
                raw.len(),
                ModuleBuffer::of(body),
                ModuleBuffer::of(details),
            );
        }
    }

    /// The whole request body at its end: what Envoy buffered plus the last chunk.
    fn request_body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for kind in [abi::BUFFERED_REQUEST_BODY, abi::RECEIVED_REQUEST_BODY] {
            self.append_chunks(kind, &mut body);
        }
        body
    }

    /// The request body Envoy buffered (whole, once this filter stopped at its end).
    fn buffered_request_body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        self.append_chunks(abi::BUFFERED_REQUEST_BODY, &mut body);
        body
    }

    /// The response body chunk of this event.
    fn response_chunk(&self) -> Vec<u8> {
        let mut chunk = Vec::new();
        self.append_chunks(abi::RECEIVED_RESPONSE_BODY, &mut chunk);
        chunk
    }

    /// Replaces the response body chunk of this event with `chunk`.
    fn replace_response_chunk(&self, chunk: &[u8]) {
        // SAFETY: live filter pointer; draining more than there is drains all; `chunk`
        // outlives the call and Envoy copies it.
        unsafe {
            abi::envoy_dynamic_module_callback_http_drain_body(
                self.ptr,
                abi::RECEIVED_RESPONSE_BODY,
                usize::MAX,
            );
            if !chunk.is_empty() {
                abi::envoy_dynamic_module_callback_http_append_body(
                    self.ptr,
                    abi::RECEIVED_RESPONSE_BODY,
                    ModuleBuffer::of(chunk),
                );
            }
        }
    }

    /// Replaces the request body (buffered and last chunk) with `body`.
    fn replace_request_body(&self, body: &[u8]) {
        for kind in [abi::BUFFERED_REQUEST_BODY, abi::RECEIVED_REQUEST_BODY] {
            // SAFETY: live filter pointer; draining more than there is drains all.
            unsafe {
                abi::envoy_dynamic_module_callback_http_drain_body(self.ptr, kind, usize::MAX)
            };
        }
        // SAFETY: live filter pointer; `body` outlives the call and Envoy copies it. If no
        // buffered body exists, the received one takes it.
        unsafe {
            if !abi::envoy_dynamic_module_callback_http_append_body(
                self.ptr,
                abi::BUFFERED_REQUEST_BODY,
                ModuleBuffer::of(body),
            ) {
                abi::envoy_dynamic_module_callback_http_append_body(
                    self.ptr,
                    abi::RECEIVED_REQUEST_BODY,
                    ModuleBuffer::of(body),
                );
            }
        }
    }

    /// Sets a string in the dynamic metadata.
    fn set_metadata_string(&self, ns: &str, key: &str, value: &str) {
        // SAFETY: live filter pointer; the buffers outlive the call and Envoy copies them.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_dynamic_metadata_string(
                self.ptr,
                ModuleBuffer::of(ns.as_bytes()),
                ModuleBuffer::of(key.as_bytes()),
                ModuleBuffer::of(value.as_bytes()),
            );
        }
    }

    /// Sets a number in the dynamic metadata.
    fn set_metadata_number(&self, ns: &str, key: &str, value: f64) {
        // SAFETY: live filter pointer; the buffers outlive the call.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_dynamic_metadata_number(
                self.ptr,
                ModuleBuffer::of(ns.as_bytes()),
                ModuleBuffer::of(key.as_bytes()),
                value,
            );
        }
    }
}

/// # Safety
/// `ptr` points to `len` readable bytes (or `len` is 0) that live as long as `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr` for `'a`.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}
