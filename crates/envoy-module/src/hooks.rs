//! The event hooks Envoy calls (`envoy_dynamic_module_on_*`). Each one catches panics: a
//! panic crossing `extern "C"` would abort Envoy. A panic on the request path answers the
//! client with a JSON-RPC 500 (never letting the request through unchecked); elsewhere it is
//! swallowed.

use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::abi::{self, ConfigEnvoyPtr, EnvoyBuffer, EnvoyHeader, FilterEnvoyPtr};
use crate::envoy::{Host, Stream, bytes};
use crate::error::ModuleError;
use crate::filter::{Filter, FilterConfig};

/// Runs `f`, turning a panic into `fallback`.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The answer to a request whose hook panicked.
fn internal_error(stream: &Stream) -> u32 {
    let reject = ModuleError::Panicked.reject();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let headers: Vec<(&str, &str)> = reject
            .headers
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        stream.send_response(reject.status, &headers, &reject.body())
    }));
    abi::STOP
}

/// # Safety
/// `ptr` is a filter pointer this module returned from `on_http_filter_new` and Envoy has
/// not destroyed yet; Envoy calls a stream's hooks one at a time, on its worker.
unsafe fn filter<'a>(ptr: *mut c_void) -> &'a mut Filter {
    // SAFETY: per the contract above, `ptr` came from `Box::into_raw` of a live `Filter`
    // that nothing else borrows during this hook.
    unsafe { &mut *ptr.cast::<Filter>() }
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_program_init() -> *const c_char {
    abi::ABI_VERSION.as_ptr().cast()
}

/// # Safety
/// Envoy passes the filter's name and config as buffers valid during this call.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    _config_envoy: ConfigEnvoyPtr,
    _name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> *const c_void {
    // SAFETY: `config` is Envoy's buffer, valid for this call; it is parsed into owned data.
    let text = unsafe { bytes(config.ptr, config.length) };
    guard(std::ptr::null(), || match FilterConfig::new(text) {
        Ok(config) => Box::into_raw(Box::new(Arc::new(config)))
            .cast_const()
            .cast(),
        // A null pointer makes Envoy reject the config; it logs that the module refused it.
        Err(_) => std::ptr::null(),
    })
}

/// # Safety
/// `config` is a pointer `on_http_filter_config_new` returned, destroyed once.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: *mut c_void) {
    // SAFETY: `config` came from `Box::into_raw` in `config_new`; Envoy destroys it once,
    // after the filters made from it (each holds its own `Arc`).
    drop(unsafe { Box::from_raw(config.cast::<Arc<FilterConfig>>()) });
}

/// # Safety
/// `config` is a live pointer from `on_http_filter_config_new`.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_new(
    config: *mut c_void,
    _filter_envoy: FilterEnvoyPtr,
) -> *mut c_void {
    // SAFETY: `config` is the live boxed `Arc<FilterConfig>` from `config_new`, only read.
    let config = unsafe { &*config.cast::<Arc<FilterConfig>>() };
    guard(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(Filter::new(config.clone()))).cast()
    })
}

/// # Safety
/// `ptr` is a filter from `on_http_filter_new`, destroyed once.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_destroy(ptr: *mut c_void) {
    // SAFETY: `ptr` came from `Box::into_raw` in `filter_new`; Envoy destroys it once.
    drop(unsafe { Box::from_raw(ptr.cast::<Filter>()) });
}

/// # Safety
/// Envoy's hook contract: live filter pointers of this stream.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
    envoy: FilterEnvoyPtr,
    ptr: *mut c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: Envoy's pointers for this stream, used only during this hook.
    let (stream, filter) = unsafe { (Stream::new(envoy), filter(ptr)) };
    catch_unwind(AssertUnwindSafe(|| {
        filter.request_headers(&stream, end_of_stream)
    }))
    .unwrap_or_else(|_| internal_error(&stream))
}

/// # Safety
/// Envoy's hook contract: live filter pointers of this stream.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
    envoy: FilterEnvoyPtr,
    ptr: *mut c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: Envoy's pointers for this stream, used only during this hook.
    let (stream, filter) = unsafe { (Stream::new(envoy), filter(ptr)) };
    catch_unwind(AssertUnwindSafe(|| {
        filter.request_body(&stream, end_of_stream)
    }))
    .unwrap_or_else(|_| internal_error(&stream))
}

// The hooks below are required by Envoy 1.40 (it resolves them when loading the module);
// this stage of the module has nothing to do in them.

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
) -> u32 {
    abi::CONTINUE
}

/// # Safety
/// Envoy's hook contract: live filter pointers of this stream.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    envoy: FilterEnvoyPtr,
    ptr: *mut c_void,
    _end_of_stream: bool,
) -> u32 {
    // SAFETY: Envoy's pointers for this stream, used only during this hook.
    let (stream, filter) = unsafe { (Stream::new(envoy), filter(ptr)) };
    catch_unwind(AssertUnwindSafe(|| filter.response_headers(&stream)))
        .unwrap_or_else(|_| internal_error(&stream))
}

/// # Safety
/// Envoy's hook contract: live filter pointers of this stream.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
    envoy: FilterEnvoyPtr,
    ptr: *mut c_void,
    end_of_stream: bool,
) -> u32 {
    // SAFETY: Envoy's pointers for this stream, used only during this hook.
    let (stream, filter) = unsafe { (Stream::new(envoy), filter(ptr)) };
    // Past the response headers a local reply is no longer possible: a panic here lets the
    // chunk pass (Envoy then ends the stream as the body stops making sense).
    catch_unwind(AssertUnwindSafe(|| {
        filter.response_body(&stream, end_of_stream)
    }))
    .unwrap_or(abi::CONTINUE)
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
) -> u32 {
    abi::CONTINUE
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
) {
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _event_id: u64,
) {
}

/// # Safety
/// Envoy's hook contract: live filter pointers of this stream; `headers` and
/// `body_chunks` hold `headers_size` and `body_chunks_size` entries valid during the call.
#[unsafe(no_mangle)]
unsafe extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    envoy: FilterEnvoyPtr,
    ptr: *mut c_void,
    callout_id: u64,
    result: u32,
    headers: *mut EnvoyHeader,
    headers_size: usize,
    body_chunks: *mut EnvoyBuffer,
    body_chunks_size: usize,
) {
    // SAFETY: Envoy's pointers for this stream, used only during this hook.
    let (stream, filter) = unsafe { (Stream::new(envoy), filter(ptr)) };
    // SAFETY: per the contract above; the answer is copied before the hook returns.
    let answer =
        unsafe { callout_answer(result, headers, headers_size, body_chunks, body_chunks_size) };
    if catch_unwind(AssertUnwindSafe(|| {
        filter.callout_done(&stream, callout_id, answer.as_deref())
    }))
    .is_err()
    {
        internal_error(&stream);
    }
}

/// The body of a callout that succeeded with status 200; `None` otherwise.
///
/// # Safety
/// `headers` and `chunks` point to `n_headers` and `n_chunks` entries valid during the call
/// (or are null with a count of 0).
unsafe fn callout_answer(
    result: u32,
    headers: *const EnvoyHeader,
    n_headers: usize,
    chunks: *const EnvoyBuffer,
    n_chunks: usize,
) -> Option<Vec<u8>> {
    if result != abi::CALLOUT_SUCCEEDED || headers.is_null() {
        return None;
    }
    // SAFETY: per the contract above.
    let headers = unsafe { std::slice::from_raw_parts(headers, n_headers) };
    let ok = headers.iter().any(|h| {
        // SAFETY: each entry points into Envoy's header map, valid during the call.
        let (key, value) = unsafe {
            (
                bytes(h.key_ptr, h.key_length),
                bytes(h.value_ptr, h.value_length),
            )
        };
        key == b":status" && value == b"200"
    });
    if !ok {
        return None;
    }
    let mut body = Vec::new();
    if !chunks.is_null() {
        // SAFETY: per the contract above.
        for chunk in unsafe { std::slice::from_raw_parts(chunks, n_chunks) } {
            // SAFETY: each chunk is a slice of Envoy's buffer, valid during the call.
            body.extend_from_slice(unsafe { bytes(chunk.ptr, chunk.length) });
        }
    }
    Some(body)
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _stream_id: u64,
    _headers: *mut EnvoyHeader,
    _headers_size: usize,
    _end_stream: bool,
) {
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _stream_id: u64,
    _data: *const EnvoyBuffer,
    _data_count: usize,
    _end_stream: bool,
) {
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _stream_id: u64,
    _trailers: *mut EnvoyHeader,
    _trailers_size: usize,
) {
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _stream_id: u64,
) {
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _stream_id: u64,
    _reason: u32,
) {
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
) {
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
) {
}
