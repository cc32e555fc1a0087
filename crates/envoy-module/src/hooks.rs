//! The event hooks Envoy calls (`envoy_dynamic_module_on_*`). Each one catches panics: a
//! panic crossing `extern "C"` would abort Envoy. A panic on the request path answers the
//! client with a JSON-RPC 500 (never letting the request through unchecked); elsewhere it is
//! swallowed.

use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::abi::{self, ConfigEnvoyPtr, EnvoyBuffer, EnvoyHeader, FilterEnvoyPtr};
use crate::envoy::{Stream, bytes};
use crate::filter::{Filter, FilterConfig};

/// Runs `f`, turning a panic into `fallback`.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The answer to a request whose hook panicked.
fn internal_error(stream: &Stream) -> u32 {
    let body = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal gateway error"}}"#;
    let _ = catch_unwind(AssertUnwindSafe(|| {
        stream.send_response(500, &[("content-type", "application/json")], body)
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

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _end_of_stream: bool,
) -> u32 {
    abi::CONTINUE
}

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _end_of_stream: bool,
) -> u32 {
    abi::CONTINUE
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

#[unsafe(no_mangle)]
extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    _envoy: FilterEnvoyPtr,
    _ptr: *mut c_void,
    _callout_id: u64,
    _result: u32,
    _headers: *mut EnvoyHeader,
    _headers_size: usize,
    _body_chunks: *mut EnvoyBuffer,
    _body_chunks_size: usize,
) {
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
