//! Parse a `tools/call` body, find `params.name`, strip the prefix and splice
//! it back: the router's per-request work on the body.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcp_gateway_protocol::{Message, ToClient, naming, splice_str};
use std::hint::black_box;

/// A typical `tools/call` body of about 300 bytes.
fn typical_call() -> Vec<u8> {
    br#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"weather_get_forecast","arguments":{"city":"Berlin","country":"DE","days":5,"units":"metric","include":["temperature","precipitation","wind"],"lang":"en-GB","alerts":true},"_meta":{"progressToken":"c2a7f4e0-1b3d-4c5e-9f60-7a8b9c0d1e2f"}}}"#
        .to_vec()
}

/// A `tools/call` whose arguments are about 64 KiB of mixed JSON, with the
/// name placed after them so the whole argument object is scanned.
fn large_call() -> Vec<u8> {
    let mut items = Vec::new();
    let mut size = 0;
    let mut i = 0u32;
    while size < 64 * 1024 {
        let item = format!(
            r#"{{"index":{i},"text":"line {i}: the quick brown fox jumps over the lazy dog \u00e9","score":{}.5,"tags":["a","b"]}}"#,
            i * 7
        );
        size += item.len() + 1;
        items.push(item);
        i += 1;
    }
    format!(
        r#"{{"jsonrpc":"2.0","id":"req-1","method":"tools/call","params":{{"arguments":{{"rows":[{}]}},"name":"docs_ingest"}}}}"#,
        items.join(",")
    )
    .into_bytes()
}

fn route(body: &[u8], prefix: &str) -> Option<Vec<u8>> {
    let message = Message::parse(body).ok()?;
    let name = message.param_str(&["name"])?;
    let original = naming::strip(prefix, &name.value)?;
    Some(splice_str(body, name.range.clone(), original))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_and_splice");
    for (label, body, prefix) in [
        ("tools_call_300b", typical_call(), "weather_"),
        ("tools_call_64kib", large_call(), "docs_"),
    ] {
        assert!(route(&body, prefix).is_some(), "{label} must route");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(label, |b| b.iter(|| route(black_box(&body), prefix)));
        group.bench_function(format!("{label}/parse_only"), |b| {
            b.iter(|| Message::parse(black_box(&body)).is_ok())
        });
    }
    group.finish();
}

/// A `resources/read` answer with two contents, about 400 bytes.
fn typical_read() -> String {
    r##"{"jsonrpc":"2.0","id":7,"result":{"contents":[{"uri":"file:///docs/readme.md","mimeType":"text/markdown","text":"# Readme\nThe quick brown fox jumps over the lazy dog.\n"},{"uri":"file:///docs/logo.png","mimeType":"image/png","blob":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"}],"_meta":{"size":12345678901234567890}}}"##
        .to_owned()
}

/// A `resources/read` answer whose one text content is about 64 KiB.
fn large_read() -> String {
    let text = "the quick brown fox jumps over the lazy dog \\u00e9 ".repeat(64 * 1024 / 50);
    format!(
        r#"{{"jsonrpc":"2.0","id":7,"result":{{"contents":[{{"text":"{text}","uri":"file:///docs/big.txt","mimeType":"text/plain"}}]}}}}"#
    )
}

/// The router's per-answer work on a `resources/read` answer: the contents' URIs exposed.
fn rewrite_answer(c: &mut Criterion) {
    let to_client = ToClient {
        server: "docs",
        prefix: "d_",
    };
    let mut group = c.benchmark_group("rewrite_answer");
    for (label, body) in [("read_400b", typical_read()), ("read_64kib", large_read())] {
        assert!(
            to_client.rewrite(&body, true).is_some(),
            "{label} must rewrite"
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(label, |b| {
            b.iter(|| to_client.rewrite(black_box(&body), true))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, rewrite_answer);
criterion_main!(benches);
