//! Fuzzing the module's entry points: the filter code every hook calls (`Filter`'s phases and
//! `callout_done`, `FilterConfig::new`), driven through a model of Envoy ([`Model`], the
//! [`Host`] the FFI `Stream` is in production) with generated headers, bodies split into
//! chunks anywhere, sidecar answers and backend answers (JSON-RPC, SSE, bytes). The property:
//! nothing panics (a panic in a hook would be a 500 or a dropped chunk in Envoy).
//!
//! `cargo test -p mcp-gateway-envoy-module` runs a bounded number of cases
//! (`PROPTEST_CASES`, 1000 by default here); a long run:
//!
//! ```sh
//! PROPTEST_CASES=2000000 cargo test --release -p mcp-gateway-envoy-module fuzz -- --nocapture
//! ```

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use mcp_gateway_catalog::ServerOffer;
use mcp_gateway_routing::sidecar::{CatalogCopy, ConfigText, OfferCopy, State};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

use crate::abi;
use crate::envoy::Host;
use crate::filter::{Filter, FilterConfig};

/// Most callouts answered in one case; later ones fail (no answer), which ends every wait.
const MAX_CALLOUTS: usize = 8;

/// Envoy, as far as the filter sees it during one hook.
#[derive(Default)]
struct Model {
    request_headers: Vec<(String, Vec<u8>)>,
    response_headers: Vec<(String, Vec<u8>)>,
    /// The request body Envoy buffered for this filter.
    buffered: Vec<u8>,
    /// The chunk of the current body event.
    received: Vec<u8>,
    response_chunk: Vec<u8>,
    /// Callouts sent and not answered yet: id and path.
    callouts: Vec<(u64, String)>,
    next_callout: u64,
    callouts_fail: bool,
    /// A local reply was sent.
    answered: Option<u16>,
}

/// [`Model`] behind the shared reference the filter's phases take.
#[derive(Default)]
struct Envoy(RefCell<Model>);

fn set(headers: &mut Vec<(String, Vec<u8>)>, key: &str, value: Option<&[u8]>) {
    headers.retain(|(k, _)| k != key);
    if let Some(value) = value {
        headers.push((key.to_owned(), value.to_vec()));
    }
}

impl Host for Envoy {
    fn request_headers(&self) -> Vec<(String, Vec<u8>)> {
        self.0.borrow().request_headers.clone()
    }

    fn response_headers(&self) -> Vec<(String, Vec<u8>)> {
        self.0.borrow().response_headers.clone()
    }

    fn set_request_header(&self, key: &str, value: &[u8]) {
        set(&mut self.0.borrow_mut().request_headers, key, Some(value));
    }

    fn remove_request_header(&self, key: &str) {
        set(&mut self.0.borrow_mut().request_headers, key, None);
    }

    fn set_response_header(&self, key: &str, value: &[u8]) {
        set(&mut self.0.borrow_mut().response_headers, key, Some(value));
    }

    fn remove_response_header(&self, key: &str) {
        set(&mut self.0.borrow_mut().response_headers, key, None);
    }

    fn callout(
        &self,
        _cluster: &str,
        headers: &[(&str, &str)],
        _body: &[u8],
        _timeout_ms: u64,
    ) -> Result<u64, u32> {
        let mut model = self.0.borrow_mut();
        // Envoy's own checks (MissingRequiredHeaders).
        for required in [":method", ":path", "host"] {
            if !headers.iter().any(|(k, _)| *k == required) {
                return Err(1);
            }
        }
        if model.callouts_fail {
            return Err(4);
        }
        model.next_callout += 1;
        let id = model.next_callout;
        let path = headers
            .iter()
            .find(|(k, _)| *k == ":path")
            .map_or(String::new(), |(_, v)| (*v).to_owned());
        model.callouts.push((id, path));
        Ok(id)
    }

    fn continue_decoding(&self) {}

    fn continue_encoding(&self) {}

    fn clear_route_cache(&self) {}

    fn send_response(&self, status: u16, _headers: &[(&str, &str)], body: &[u8]) {
        assert!(
            serde_json::from_slice::<Value>(body).is_ok(),
            "a local reply is JSON: {}",
            String::from_utf8_lossy(body)
        );
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("local reply {status} {}", String::from_utf8_lossy(body));
        }
        self.0.borrow_mut().answered = Some(status);
    }

    fn request_body(&self) -> Vec<u8> {
        let model = self.0.borrow();
        let mut body = model.buffered.clone();
        body.extend_from_slice(&model.received);
        body
    }

    fn buffered_request_body(&self) -> Vec<u8> {
        self.0.borrow().buffered.clone()
    }

    fn response_chunk(&self) -> Vec<u8> {
        self.0.borrow().response_chunk.clone()
    }

    fn replace_response_chunk(&self, chunk: &[u8]) {
        self.0.borrow_mut().response_chunk = chunk.to_vec();
    }

    fn replace_request_body(&self, body: &[u8]) {
        let mut model = self.0.borrow_mut();
        model.received.clear();
        model.buffered = body.to_vec();
    }

    fn set_metadata_string(&self, _ns: &str, _key: &str, _value: &str) {}

    fn set_metadata_number(&self, _ns: &str, _key: &str, _value: f64) {}
}

/// The gateway config the sidecar serves in these runs: two prefixed servers, a virtual
/// server, a policy and (with `auth`) auth on.
fn config_yaml(auth: bool) -> String {
    let mut yaml = String::from(
        "servers:
  - name: calc
    url: http://127.0.0.1:1/mcp
    hostname: calc.local
    toolPrefix: calc_
  - name: text
    url: http://127.0.0.1:2/mcp
    hostname: text.local
    toolPrefix: text_
",
    );
    if auth {
        // A server whose credential is the caller's token: asked of the sidecar per call.
        yaml.push_str(
            "  - name: keyed
    url: http://127.0.0.1:3/mcp
    hostname: keyed.local
    toolPrefix: keyed_
    credentials: {passthrough: {discovery: none}}
auth:
  resource: https://mcp.example.com/mcp
  issuers:
    - issuer: https://login.example.com
      jwksUri: https://login.example.com/jwks
policy:
  rules:
    - name: alice
      when: {clientIds: [alice]}
      allow: {servers: [\"*\"]}
      deny: {tools: [calc_divide]}
",
        );
    }
    yaml.push_str(
        "virtualServers:
  - name: maths
    tools: [calc_add]
",
    );
    yaml
}

/// The sidecar's answer to `/v1/state`.
fn state(auth: bool) -> Vec<u8> {
    let offer = |prefix: &str| {
        let lists: [Vec<Value>; 4] = [
            vec![json!({"name": "add"}), json!({"name": "divide"})],
            vec![json!({"name": "greet"})],
            vec![json!({"uri": "file:///a", "name": "a"})],
            vec![json!({"uriTemplate": "file:///t/{id}", "name": "t"})],
        ];
        ServerOffer::healthy(
            prefix,
            json!({"tools": {}, "prompts": {}, "resources": {}}),
            lists,
        )
    };
    let state = State {
        config: Some(ConfigText {
            generation: 1,
            yaml: config_yaml(auth),
        }),
        catalog: Some(CatalogCopy {
            generation: 1,
            servers: vec![
                OfferCopy::new("calc", &offer("calc_")),
                OfferCopy::new("text", &offer("text_")),
                OfferCopy::new("keyed", &offer("keyed_")),
            ],
        }),
    };
    serde_json::to_vec(&state).expect("a state serialises")
}

fn filter_config() -> Arc<FilterConfig> {
    let text = br#"{"sidecar":{"cluster":"sidecar","refresh_ms":3600000}}"#;
    Arc::new(FilterConfig::new(text).expect("a sidecar config"))
}

/// A filter config whose copy of the sidecar's state is loaded (the filter runs once with the
/// state answered), shared by every case: `[auth off, auth on]`.
fn loaded(auth: bool) -> Arc<FilterConfig> {
    static CONFIGS: OnceLock<[Arc<FilterConfig>; 2]> = OnceLock::new();
    let configs = CONFIGS.get_or_init(|| {
        [false, true].map(|auth| {
            let config = filter_config();
            let envoy = Envoy::default();
            envoy.0.borrow_mut().request_headers = vec![
                (":method".into(), b"GET".to_vec()),
                (":path".into(), b"/healthz".to_vec()),
            ];
            let mut filter = Filter::new(config.clone());
            filter.request_headers(&envoy, true);
            let (id, _) = envoy
                .0
                .borrow_mut()
                .callouts
                .pop()
                .expect("the state is asked");
            filter.callout_done(&envoy, id, Some(&state(auth)));
            config
        })
    });
    configs[usize::from(auth)].clone()
}

/// What happens to one request.
#[derive(Debug, Clone)]
struct Case {
    /// Which filter config: 0 loaded without auth, 1 loaded with auth, 2 fresh (asks the
    /// sidecar for its state first).
    config: u8,
    request_headers: Vec<(String, Vec<u8>)>,
    /// The request body's chunks (none: the headers end the stream).
    request_chunks: Vec<Vec<u8>>,
    /// Answers to the callouts, in order.
    answers: Vec<Answer>,
    callouts_fail: bool,
    response_headers: Vec<(String, Vec<u8>)>,
    response_chunks: Vec<Vec<u8>>,
}

/// Splits `bytes` at `cuts` (positions taken modulo the length).
fn split(bytes: Vec<u8>, cuts: Vec<usize>) -> Vec<Vec<u8>> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    let mut at: Vec<usize> = cuts.into_iter().map(|c| c % bytes.len()).collect();
    at.sort_unstable();
    at.dedup();
    let mut chunks = Vec::new();
    let mut from = 0;
    for cut in at {
        if cut > from {
            chunks.push(bytes[from..cut].to_vec());
            from = cut;
        }
    }
    chunks.push(bytes[from..].to_vec());
    chunks
}

/// Any JSON value, nested up to a few levels, with numbers beyond every integer type.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(9_007_199_254_740_993_u64)),
        "[a-z_/:.{}]{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,8}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

const METHODS: &[&str] = &[
    "tools/call",
    "prompts/get",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "tasks/get",
    "tasks/result",
    "tasks/cancel",
    "initialize",
    "tools/list",
    "ping",
    "server/discover",
    "notifications/initialized",
    "logging/setLevel",
];

/// Methods with a name the fuzzed catalog offers.
const ROUTED: &[(&str, &str)] = &[
    ("tools/call", "calc_add"),
    ("tools/call", "keyed_add"),
    ("tools/call", "text_divide"),
    ("tools/call", "calc_divide"),
    ("prompts/get", "calc_greet"),
    ("completion/complete", "text_greet"),
    ("resources/read", "file:///a"),
    ("resources/subscribe", "file:///t/1"),
    ("resources/read", "calc_file:///a"),
    ("tasks/get", "mcp-gw.calc.1"),
];

const NAMES: &[&str] = &[
    "calc_add",
    "calc_divide",
    "text_add",
    "calc_greet",
    "nope",
    "",
    "calc_",
    "file:///a",
    "calc_file:///a",
    "text_file:///t/7",
    "mcp-gw.calc.1",
];

/// The 2026-07-28 envelope, sometimes.
fn envelope() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "fuzz", "version": "1"},
        }))),
        any_json().prop_map(|caps| Some(json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": caps,
        }))),
    ]
}

/// A JSON-RPC message, plausible or not.
fn message() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        8 => any::<i64>().prop_map(Value::from),
        1 => Just(json!(9_007_199_254_740_993_u64)),
        1 => Just(json!(1e300)),
        1 => Just(json!("mcp-gw.calc.7")),
        1 => any_json(),
    ];
    // A method with a name its server offers, or any method with any name.
    let call = prop_oneof![
        3 => prop::sample::select(ROUTED).prop_map(|(m, n)| (m, n.to_owned())),
        1 => (
            prop::sample::select(METHODS),
            prop_oneof![
                4 => prop::sample::select(NAMES).prop_map(str::to_owned),
                1 => any::<String>(),
            ],
        ),
    ];
    let arguments = prop_oneof![
        3 => Just(json!({"a": 1, "b": 2})),
        1 => any_json(),
    ];
    (
        call,
        id,
        arguments,
        envelope(),
        prop_oneof![6 => 0_u8..4, 4 => 4_u8..8],
    )
        .prop_map(|((method, name), id, extra, meta, shape)| {
            let mut params = json!({
                "name": name,
                "uri": name,
                "arguments": extra,
                "ref": {"type": if shape % 2 == 0 { "ref/prompt" } else { "ref/resource" }, "name": name, "uri": name},
                "taskId": name,
                "protocolVersion": "2025-11-25",
                "capabilities": {},
            });
            if let Some(meta) = meta {
                params["_meta"] = meta;
            }
            match shape {
                // A request.
                0..=3 => json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
                // A notification.
                4 => json!({"jsonrpc": "2.0", "method": method, "params": params}),
                // A client's response to a server request.
                5 => json!({"jsonrpc": "2.0", "id": id, "result": extra}),
                // Wrong shapes: params not an object, a batch.
                6 => json!({"jsonrpc": "2.0", "id": id, "method": method, "params": extra}),
                _ => json!([{"jsonrpc": "2.0", "id": id, "method": method, "params": params}]),
            }
        })
}

/// Deep nesting, beyond any parser's recursion limit.
fn deep(depth: usize) -> Vec<u8> {
    let mut body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add","arguments":"#.to_vec();
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.extend_from_slice(b"}}");
    body
}

/// A request body: a message, a damaged one, deep nesting or bytes.
fn request_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => message().prop_map(|m| serde_json::to_vec(&m).expect("serialises")),
        2 => (message(), any::<usize>(), any::<u8>()).prop_map(|(m, at, byte)| {
            let mut body = serde_json::to_vec(&m).expect("serialises");
            let at = at % (body.len() + 1);
            if byte % 2 == 0 {
                body.truncate(at);
            } else {
                body.insert(at, byte);
            }
            body
        }),
        1 => (1_usize..20_000).prop_map(deep),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// A header value: a plausible one for `name`, or bytes.
fn header(
    name: &'static str,
    plausible: &'static [&'static str],
) -> impl Strategy<Value = Option<(String, Vec<u8>)>> {
    prop_oneof![
        2 => Just(None),
        3 => prop::sample::select(plausible).prop_map(move |v| Some((name.to_owned(), v.as_bytes().to_vec()))),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(move |v| Some((name.to_owned(), v))),
    ]
}

/// The payload `jwt_authn` forwards for alice (`{"sub":"alice","iss":…,"client_id":"alice"}`).
const PAYLOAD: &str =
    "eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vbG9naW4uZXhhbXBsZS5jb20iLCJjbGllbnRfaWQiOiJhbGljZSJ9";

/// `body` with the 2026-07-28 envelope in `params._meta` when it is a message with params and
/// has none.
fn with_envelope(body: &[u8]) -> Vec<u8> {
    let Ok(mut message) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    if let Some(params) = message.get_mut("params").and_then(Value::as_object_mut)
        && !params.contains_key("_meta")
    {
        params.insert(
            "_meta".to_owned(),
            json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "fuzz", "version": "1"},
            }),
        );
    }
    serde_json::to_vec(&message).unwrap_or_else(|_| body.to_vec())
}

/// A header that is mostly absent.
fn rare_header(
    name: &'static str,
    plausible: &'static [&'static str],
) -> impl Strategy<Value = Option<(String, Vec<u8>)>> {
    prop_oneof![
        12 => Just(None),
        1 => header(name, plausible),
    ]
}

/// Headers of any shape, most of them missing or odd.
fn odd_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    (
        header(":method", &["POST", "POST", "GET", "DELETE", "PUT"]),
        header(
            ":path",
            &[
                "/mcp",
                "/mcp",
                "/v/maths/mcp",
                "/v/none/mcp",
                "/mcp?x=1",
                "/console",
            ],
        ),
        header(
            "content-type",
            &[
                "application/json",
                "text/plain",
                "application/json; charset=utf-8",
            ],
        ),
        header(
            "accept",
            &[
                "application/json, text/event-stream",
                "text/event-stream",
                "*/*",
            ],
        ),
        header("mcp-session-id", &["held.0.", "AbCdEf", "x.y.z", ""]),
        header(
            "mcp-protocol-version",
            &["2025-11-25", "2025-06-18", "2026-07-28", "1999-01-01"],
        ),
        header(
            "mcp-method",
            &["tools/call", "prompts/get", "resources/read", ""],
        ),
        header("mcp-name", &["calc_add", "file:///a", ""]),
        extra_headers(),
    )
        .prop_map(|(m, p, ct, a, s, v, mm, mn, extra)| {
            [m, p, ct, a, s, v, mm, mn]
                .into_iter()
                .flatten()
                .chain(extra)
                .collect()
        })
}

/// The caller's and other headers a request may carry besides its transport headers.
fn extra_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    (
        header(
            "x-mcp-jwt-payload",
            &[PAYLOAD, PAYLOAD, PAYLOAD, "e30", "!!"],
        ),
        rare_header("authorization", &["Bearer abc", "Basic x", "Bearer "]),
        rare_header("origin", &["http://localhost", "https://evil.example"]),
        rare_header("x-mcp-servername", &["calc", "text"]),
        prop::collection::vec(
            ("[a-z:-]{1,24}", prop::collection::vec(any::<u8>(), 0..32)),
            0..2,
        ),
    )
        .prop_map(|(jwt, auth, origin, server, extra)| {
            [jwt, auth, origin, server]
                .into_iter()
                .flatten()
                .chain(extra)
                .collect()
        })
}

/// The headers a well-behaved client sends with `body` on `path`: a 2025 session's, or
/// (`modern`) the 2026-07-28 headers mirroring the body.
fn plausible_headers(body: &[u8], modern: bool, path: &str) -> Vec<(String, Vec<u8>)> {
    let mut headers: Vec<(String, Vec<u8>)> = vec![
        (":method".into(), b"POST".to_vec()),
        (":path".into(), path.as_bytes().to_vec()),
        ("content-type".into(), b"application/json".to_vec()),
        (
            "accept".into(),
            b"application/json, text/event-stream".to_vec(),
        ),
    ];
    if !modern {
        headers.push(("mcp-protocol-version".into(), b"2025-11-25".to_vec()));
        headers.push(("mcp-session-id".into(), b"AbCdEf-session".to_vec()));
        return headers;
    }
    headers.push(("mcp-protocol-version".into(), b"2026-07-28".to_vec()));
    let message: Value = serde_json::from_slice(body).unwrap_or_default();
    if let Some(method) = message["method"].as_str() {
        headers.push(("mcp-method".into(), method.as_bytes().to_vec()));
    }
    let params = &message["params"];
    if let Some(name) = params["name"].as_str().or(params["uri"].as_str()) {
        headers.push(("mcp-name".into(), name.as_bytes().to_vec()));
    }
    headers
}

/// How the sidecar answers one callout.
#[derive(Debug, Clone)]
enum Answer {
    /// What the sidecar would answer the question asked.
    Right,
    /// Anything: no answer (`None`), an answer to another question, JSON or bytes.
    Fuzz(Option<Vec<u8>>),
}

/// The sidecar's answer to a callout on `path` when it cooperates.
fn right(path: &str) -> Vec<u8> {
    let text = if path.starts_with("/v1/state") {
        return state(false);
    } else if path.starts_with("/v1/session") {
        r#"{"valid":true}"#
    } else if path.starts_with("/v1/open") {
        r#"{"Ok":{"session_id":"b-1","protocol_version":"2025-11-25","client_may_be_asked":true}}"#
    } else if path.starts_with("/v1/credential") {
        r#"{"Ok":{"name":"authorization","value":"Bearer for-the-backend"}}"#
    } else if path.starts_with("/v1/servers") {
        r#"{"Ok":["calc","text"]}"#
    } else {
        "{}"
    };
    text.as_bytes().to_vec()
}

fn answer() -> impl Strategy<Value = Answer> {
    const WRONG: [&str; 9] = [
        r#"{"valid":false}"#,
        r#"{"Ok":{"session_id":null,"protocol_version":"2025-11-25","client_may_be_asked":false}}"#,
        r#"{"Err":{"kind":"unknown_session"}}"#,
        r#"{"Err":{"kind":"unavailable","reason":"down"}}"#,
        r#"{"Err":{"kind":"credential","reason":"token endpoint down"}}"#,
        r#"{"Ok":null}"#,
        r#"{"Ok":["calc","text","nope"]}"#,
        r#"{}"#,
        r#"{"config":{"generation":2,"yaml":"servers: ["},"catalog":null}"#,
    ];
    prop_oneof![
        6 => Just(Answer::Right),
        1 => Just(Answer::Fuzz(None)),
        1 => any::<bool>().prop_map(|auth| Answer::Fuzz(Some(state(auth)))),
        1 => prop::sample::select(&WRONG[..]).prop_map(|a| Answer::Fuzz(Some(a.as_bytes().to_vec()))),
        1 => any_json().prop_map(|v| Answer::Fuzz(Some(serde_json::to_vec(&v).expect("serialises")))),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| Answer::Fuzz(Some(b))),
    ]
}

fn response_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    (
        prop_oneof![
            4 => Just(Some((":status".to_owned(), b"200".to_vec()))),
            1 => header(":status", &["202", "400", "404", "500", "307", "abc", "99999"]),
        ],
        prop_oneof![
            4 => prop::sample::select(&["application/json", "text/event-stream"][..])
                .prop_map(|ct| Some(("content-type".to_owned(), ct.as_bytes().to_vec()))),
            1 => header("content-type", &["text/plain", "TEXT/EVENT-STREAM", "application/json;x"]),
        ],
        header("mcp-session-id", &["b-1", "b-2", ""]),
        header("location", &["/mcp/replay", "http://x"]),
    )
        .prop_map(|(status, ct, session, location)| {
            [status, ct, session, location]
                .into_iter()
                .flatten()
                .collect()
        })
}

/// A backend's answer: JSON-RPC (a result, an error, a server request), as SSE events or
/// not, damaged or not.
fn response_body() -> impl Strategy<Value = Vec<u8>> {
    let message = || {
        (any_json(), any_json(), 0_u8..4).prop_map(|(id, extra, kind)| match kind {
        0 => json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "resource_link", "uri": "file:///a"}], "x": extra}}),
        1 => json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32000, "message": "no", "data": extra}}),
        2 => json!({"jsonrpc": "2.0", "id": id, "method": "sampling/createMessage", "params": extra}),
        _ => json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": extra}),
    })
    };
    prop_oneof![
        2 => message().prop_map(|m| serde_json::to_vec(&m).expect("serialises")),
        2 => prop::collection::vec((message(), any::<bool>()), 1..4).prop_map(|events| {
            let mut body = Vec::new();
            for (event, id) in events {
                if id {
                    body.extend_from_slice(b"id: 7\r\n");
                }
                body.extend_from_slice(b"event: message\ndata: ");
                body.extend(serde_json::to_vec(&event).expect("serialises"));
                body.extend_from_slice(b"\n\n");
            }
            body
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![4 => Just(0_u8), 4 => Just(1_u8), 1 => Just(2_u8)],
        // 0: a 2025 session's headers, 1: a 2026-07-28 request's, 2: odd headers.
        prop_oneof![3 => Just(0_u8), 3 => Just(1_u8), 2 => Just(2_u8)],
        prop::sample::select(&["/mcp", "/mcp", "/v/maths/mcp"][..]),
        (odd_headers(), extra_headers()),
        prop::option::weighted(
            0.9,
            (request_body(), prop::collection::vec(any::<usize>(), 0..6)),
        ),
        prop::collection::vec(answer(), 0..MAX_CALLOUTS),
        prop::bool::weighted(0.03),
        response_headers(),
        (response_body(), prop::collection::vec(any::<usize>(), 0..6)),
    )
        .prop_map(
            |(
                config,
                kind,
                path,
                (odd, extra),
                body,
                answers,
                callouts_fail,
                response_headers,
                (rb, cuts),
            )| {
                let mut body = body;
                if kind == 1
                    && let Some((bytes, _)) = &mut body
                {
                    *bytes = with_envelope(bytes);
                }
                let request_headers = match (&body, kind) {
                    (Some((body, _)), 0 | 1) => {
                        let mut headers = plausible_headers(body, kind == 1, path);
                        // The caller `jwt_authn` verified, as it forwards it.
                        headers.push(("x-mcp-jwt-payload".to_owned(), PAYLOAD.as_bytes().to_vec()));
                        headers.push(("authorization".to_owned(), b"Bearer abc".to_vec()));
                        headers.extend(
                            extra
                                .into_iter()
                                .filter(|(k, _)| k != "authorization" && k != "x-mcp-jwt-payload"),
                        );
                        headers
                    }
                    _ => odd,
                };
                Case {
                    config,
                    request_headers,
                    request_chunks: body.map(|(b, cuts)| split(b, cuts)).unwrap_or_default(),
                    answers,
                    callouts_fail,
                    response_headers,
                    response_chunks: split(rb, cuts),
                }
            },
        )
}

/// Answers the filter's pending callouts, one at a time (an answer may lead to another
/// callout), from `answers` and then with failures.
fn answer_callouts(
    filter: &mut Filter,
    envoy: &Envoy,
    answers: &mut std::vec::IntoIter<Answer>,
    asked: &mut usize,
) {
    loop {
        let next = envoy.0.borrow_mut().callouts.pop();
        let Some((id, path)) = next else { return };
        *asked += 1;
        let answer = match answers.next() {
            _ if *asked > MAX_CALLOUTS => None,
            Some(Answer::Right) => Some(right(&path)),
            Some(Answer::Fuzz(answer)) => answer,
            None => Some(right(&path)),
        };
        filter.callout_done(envoy, id, answer.as_deref());
        assert!(*asked < 64, "a request kept asking the sidecar");
    }
}

/// How a case ended, counted to show the runs reach every phase.
#[derive(Debug, Default)]
struct Tally {
    answered_on_request: u32,
    answered_on_response: u32,
    responses: u32,
    callouts: u32,
    routed: u32,
}

/// One request through the filter, as Envoy would run it.
fn run(case: Case, tally: &mut Tally) {
    let config = match case.config {
        0 => loaded(false),
        1 => loaded(true),
        _ => filter_config(),
    };
    let envoy = Envoy::default();
    {
        let mut model = envoy.0.borrow_mut();
        model.request_headers = case.request_headers;
        model.callouts_fail = case.callouts_fail;
    }
    let mut filter = Filter::new(config);
    let mut answers = case.answers.into_iter();
    let mut asked = 0;
    let headers_only = case.request_chunks.is_empty();
    let mut status = filter.request_headers(&envoy, headers_only);
    answer_callouts(&mut filter, &envoy, &mut answers, &mut asked);
    let last = case.request_chunks.len().saturating_sub(1);
    for (at, chunk) in case.request_chunks.into_iter().enumerate() {
        if envoy.0.borrow().answered.is_some() {
            break;
        }
        envoy.0.borrow_mut().received = chunk;
        status = filter.request_body(&envoy, at == last);
        {
            // Envoy keeps a stopped chunk (StopIterationAndBuffer) and passes on the rest.
            let mut model = envoy.0.borrow_mut();
            let received = std::mem::take(&mut model.received);
            if status == abi::STOP {
                model.buffered.extend_from_slice(&received);
            }
        }
        answer_callouts(&mut filter, &envoy, &mut answers, &mut asked);
    }
    let _ = status;
    tally.callouts += u32::try_from(asked).unwrap_or(u32::MAX);
    if envoy.0.borrow().answered.is_some() {
        tally.answered_on_request += 1;
        return;
    }
    if envoy
        .0
        .borrow()
        .request_headers
        .iter()
        .any(|(k, _)| k == mcp_gateway_protocol::transport::ROUTED_SERVER)
    {
        tally.routed += 1;
    }
    envoy.0.borrow_mut().response_headers = case.response_headers;
    filter.response_headers(&envoy);
    answer_callouts(&mut filter, &envoy, &mut answers, &mut asked);
    if envoy.0.borrow().answered.is_some() {
        tally.answered_on_response += 1;
        return;
    }
    tally.responses += 1;
    let last = case.response_chunks.len().saturating_sub(1);
    for (at, chunk) in case.response_chunks.into_iter().enumerate() {
        envoy.0.borrow_mut().response_chunk = chunk;
        filter.response_body(&envoy, at == last);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000)
}

/// Requests, sidecar answers and backend answers of every shape: the filter never panics,
/// and every local reply is a JSON body.
#[test]
fn no_input_panics_the_filter() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let started = std::time::Instant::now();
    let tally = std::sync::Mutex::new(Tally::default());
    let result = runner.run(&case(), |case| {
        run(case, &mut tally.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let tally = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "fuzz: {} cases through the filter in {:.1} s: {tally:?}",
        cases(),
        started.elapsed().as_secs_f64(),
    );
    // The generator must reach past the first refusals, or "no panic" says little.
    assert!(
        tally.routed > 0 && tally.responses > 0 && tally.callouts > 0,
        "the cases never routed, answered or called out: {tally:?}"
    );
}

/// `config_new`'s input: any bytes are a config or a refusal, never a panic.
#[test]
fn no_filter_config_panics() {
    let text = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        any_json().prop_map(|v| serde_json::to_vec(&json!({"sidecar": v})).expect("serialises")),
        any_json().prop_map(|v| serde_json::to_vec(&v).expect("serialises")),
        Just(config_yaml(true).into_bytes()),
    ];
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases() / 4,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let result = runner.run(&text, |text| {
        let _ = FilterConfig::new(&text);
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// The sidecar's config in these runs is one it would serve (else nothing would be routed).
#[test]
fn the_fuzzed_config_is_valid() {
    for auth in [false, true] {
        mcp_gateway_config::Config::from_yaml(&config_yaml(auth)).expect("valid");
    }
}

/// The model routes a well-formed call (2025 session, 2026-07-28, auth on) to its backend
/// and runs its answer through the response phases: the fuzz cases reach past the checks.
#[test]
fn the_model_routes_a_plausible_call() {
    for (modern, auth) in [(false, false), (true, false), (false, true)] {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc_add","arguments":{}}}"#;
        let body = if modern {
            with_envelope(body)
        } else {
            body.to_vec()
        };
        let mut headers = plausible_headers(&body, modern, "/mcp");
        headers.push(("x-mcp-jwt-payload".to_owned(), PAYLOAD.as_bytes().to_vec()));
        headers.push(("authorization".to_owned(), b"Bearer abc".to_vec()));
        let case = Case {
            config: u8::from(auth),
            request_headers: headers,
            request_chunks: vec![body],
            answers: vec![],
            callouts_fail: false,
            response_headers: vec![(":status".into(), b"200".to_vec())],
            response_chunks: vec![b"{}".to_vec()],
        };
        let mut tally = Tally::default();
        run(case, &mut tally);
        assert_eq!(
            (tally.routed, tally.responses),
            (1, 1),
            "{modern} {auth}: {tally:?}"
        );
    }
}

/// A call naming a tool the module's copy lacks (a client listed it from the sidecar's newer
/// catalog) refreshes the copy once and is routed; a name still unknown is refused after that
/// one refresh.
#[test]
fn a_tool_the_copy_lacks_refreshes_it_once() {
    let state_with = |generation: u64, tools: Vec<Value>| {
        let state = State {
            config: Some(ConfigText {
                generation: 1,
                yaml: config_yaml(false),
            }),
            catalog: Some(CatalogCopy {
                generation,
                servers: vec![OfferCopy::new("calc", &ServerOffer::tools("calc_", tools))],
            }),
        };
        serde_json::to_vec(&state).expect("serialises")
    };
    let config = filter_config();
    let call = |tool: &str, answers: &[Vec<u8>]| {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#
        );
        let envoy = Envoy::default();
        envoy.0.borrow_mut().request_headers = plausible_headers(body.as_bytes(), false, "/mcp");
        let mut filter = Filter::new(config.clone());
        let mut paths = Vec::new();
        let mut answers = answers.iter();
        let mut answer_all = |filter: &mut Filter| loop {
            let next = envoy.0.borrow_mut().callouts.pop();
            let Some((id, path)) = next else { break };
            let answer = if path.starts_with("/v1/state") {
                answers.next().cloned()
            } else {
                Some(right(&path))
            };
            paths.push(path);
            filter.callout_done(&envoy, id, answer.as_deref());
        };
        filter.request_headers(&envoy, false);
        answer_all(&mut filter);
        envoy.0.borrow_mut().received = body.into_bytes();
        if filter.request_body(&envoy, true) == abi::STOP {
            let mut model = envoy.0.borrow_mut();
            let received = std::mem::take(&mut model.received);
            model.buffered.extend_from_slice(&received);
        }
        answer_all(&mut filter);
        let model = envoy.0.borrow();
        let routed = model
            .request_headers
            .iter()
            .any(|(k, _)| k == mcp_gateway_protocol::transport::ROUTED_SERVER);
        (routed, model.answered, paths)
    };
    let old = state_with(1, vec![json!({"name": "add"})]);
    let new = state_with(2, vec![json!({"name": "add"}), json!({"name": "new"})]);

    // The first copy, then a known tool: no refresh.
    let (routed, _, paths) = call("calc_add", std::slice::from_ref(&old));
    assert!(routed, "{paths:?}");
    std::thread::sleep(MIN_AGE_FOR_TESTS);
    let (routed, answered, paths) = call("calc_new", std::slice::from_ref(&new));
    assert!(routed, "routed after one refresh: {answered:?} {paths:?}");
    assert_eq!(
        paths.iter().filter(|p| p.starts_with("/v1/state")).count(),
        1
    );
    std::thread::sleep(MIN_AGE_FOR_TESTS);
    let (routed, answered, paths) = call("calc_gone", std::slice::from_ref(&new));
    assert!(!routed && answered == Some(200), "{answered:?} {paths:?}");
    assert_eq!(
        paths.iter().filter(|p| p.starts_with("/v1/state")).count(),
        1
    );
}

/// Longer than the youngest copy a refusal refreshes (`sidecar::MIN_FORCED_AGE`).
const MIN_AGE_FOR_TESTS: std::time::Duration = std::time::Duration::from_millis(40);
