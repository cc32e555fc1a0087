//! The part of Envoy's dynamic-module ABI (v0.2.0, Envoy 1.40) this module uses, written
//! from `source/extensions/dynamic_modules/abi/abi.h`. Only declarations: the hooks Envoy
//! calls are in `hooks`, the safe wrappers around the callbacks in `envoy`.

use std::ffi::c_void;

/// Envoy's HTTP filter config object (`..._http_filter_config_envoy_ptr`).
pub(crate) type ConfigEnvoyPtr = *mut c_void;
/// Envoy's per-stream filter object (`..._http_filter_envoy_ptr`).
pub(crate) type FilterEnvoyPtr = *mut c_void;

/// A buffer owned by Envoy (`envoy_dynamic_module_type_envoy_buffer`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct EnvoyBuffer {
    pub(crate) ptr: *const u8,
    pub(crate) length: usize,
}

/// A buffer owned by the module (`envoy_dynamic_module_type_module_buffer`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ModuleBuffer {
    pub(crate) ptr: *const u8,
    pub(crate) length: usize,
}

impl ModuleBuffer {
    /// A view of `bytes`, valid while they are.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Self {
            ptr: bytes.as_ptr(),
            length: bytes.len(),
        }
    }

    /// The null buffer (e.g. "remove the header").
    pub(crate) fn null() -> Self {
        Self {
            ptr: std::ptr::null(),
            length: 0,
        }
    }
}

/// A header owned by Envoy (`envoy_dynamic_module_type_envoy_http_header`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct EnvoyHeader {
    pub(crate) key_ptr: *const u8,
    pub(crate) key_length: usize,
    pub(crate) value_ptr: *const u8,
    pub(crate) value_length: usize,
}

/// A header owned by the module (`envoy_dynamic_module_type_module_http_header`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ModuleHeader {
    pub(crate) key_ptr: *const u8,
    pub(crate) key_length: usize,
    pub(crate) value_ptr: *const u8,
    pub(crate) value_length: usize,
}

/// `envoy_dynamic_module_type_http_header_type`: request headers.
pub(crate) const REQUEST_HEADERS: u32 = 0;
/// `envoy_dynamic_module_type_http_header_type`: response headers.
pub(crate) const RESPONSE_HEADERS: u32 = 2;
/// `envoy_dynamic_module_type_http_body_type`: the request body received in this event.
pub(crate) const RECEIVED_REQUEST_BODY: u32 = 0;
/// `envoy_dynamic_module_type_http_body_type`: the request body buffered so far.
pub(crate) const BUFFERED_REQUEST_BODY: u32 = 1;
/// `envoy_dynamic_module_type_http_body_type`: the response body received in this event.
pub(crate) const RECEIVED_RESPONSE_BODY: u32 = 2;

/// `envoy_dynamic_module_type_http_callout_init_result_Success`.
pub(crate) const CALLOUT_STARTED: u32 = 0;
/// `envoy_dynamic_module_type_http_callout_result_Success`.
pub(crate) const CALLOUT_SUCCEEDED: u32 = 0;

/// Hook status: go on (headers, body and trailers alike).
pub(crate) const CONTINUE: u32 = 0;
/// Hook status: stop iterating (headers); stop and buffer (body).
pub(crate) const STOP: u32 = 1;

/// The ABI version this module is written against.
pub(crate) const ABI_VERSION: &[u8] = b"v0.2.0\0";

unsafe extern "C" {
    pub(crate) fn envoy_dynamic_module_callback_http_get_headers_size(
        filter: FilterEnvoyPtr,
        header_type: u32,
    ) -> usize;
    pub(crate) fn envoy_dynamic_module_callback_http_get_headers(
        filter: FilterEnvoyPtr,
        header_type: u32,
        result: *mut EnvoyHeader,
    ) -> bool;
    pub(crate) fn envoy_dynamic_module_callback_http_set_header(
        filter: FilterEnvoyPtr,
        header_type: u32,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;
    pub(crate) fn envoy_dynamic_module_callback_http_send_response(
        filter: FilterEnvoyPtr,
        status_code: u32,
        headers: *mut ModuleHeader,
        headers_size: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );
    pub(crate) fn envoy_dynamic_module_callback_http_clear_route_cache(filter: FilterEnvoyPtr);
    pub(crate) fn envoy_dynamic_module_callback_http_get_body_chunks_size(
        filter: FilterEnvoyPtr,
        body_type: u32,
    ) -> usize;
    pub(crate) fn envoy_dynamic_module_callback_http_get_body_chunks(
        filter: FilterEnvoyPtr,
        body_type: u32,
        result: *mut EnvoyBuffer,
    ) -> bool;
    pub(crate) fn envoy_dynamic_module_callback_http_drain_body(
        filter: FilterEnvoyPtr,
        body_type: u32,
        bytes: usize,
    ) -> bool;
    pub(crate) fn envoy_dynamic_module_callback_http_append_body(
        filter: FilterEnvoyPtr,
        body_type: u32,
        data: ModuleBuffer,
    ) -> bool;
    pub(crate) fn envoy_dynamic_module_callback_http_set_dynamic_metadata_string(
        filter: FilterEnvoyPtr,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        value: ModuleBuffer,
    );
    pub(crate) fn envoy_dynamic_module_callback_http_filter_http_callout(
        filter: FilterEnvoyPtr,
        callout_id: *mut u64,
        cluster: ModuleBuffer,
        headers: *mut ModuleHeader,
        headers_size: usize,
        body: ModuleBuffer,
        timeout_milliseconds: u64,
    ) -> u32;
    pub(crate) fn envoy_dynamic_module_callback_http_filter_continue_decoding(
        filter: FilterEnvoyPtr,
    );
    pub(crate) fn envoy_dynamic_module_callback_http_filter_continue_encoding(
        filter: FilterEnvoyPtr,
    );
    pub(crate) fn envoy_dynamic_module_callback_http_set_dynamic_metadata_number(
        filter: FilterEnvoyPtr,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        value: f64,
    );
}
