use mcp_gateway_catalog::{CatalogStore, ServerTools};
use mcp_gateway_config::Config;
use mcp_gateway_protocol::Message;
use serde_json::json;

use super::*;

const CONFIG: &str = r#"
servers:
  - name: calc
    url: http://127.0.0.1:9001/mcp
    hostname: calc.mcp.local
    toolPrefix: calc_
  - name: text
    url: http://127.0.0.1:9002/mcp
    hostname: text.mcp.local
    toolPrefix: text_
  - name: off
    url: http://127.0.0.1:9003/mcp
    enabled: false
    toolPrefix: off_
"#;

fn catalog(discovered: &[(&str, &str, bool, &[&str])]) -> CatalogStore {
    let store = CatalogStore::new();
    for (server, prefix, healthy, tools) in discovered {
        store.update(
            server,
            ServerTools {
                prefix: (*prefix).into(),
                healthy: *healthy,
                tools: tools.iter().map(|t| json!({"name": t})).collect(),
                last_error: None,
            },
        );
    }
    store
}

fn call(name: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{}}}}}}"#
    )
}

/// (body, catalog, expected): Ok((server, original, rewrite)) or Err(error) or None for broker.
#[test]
fn decisions() {
    let config = Config::from_yaml(CONFIG).expect("valid config");
    let empty = catalog(&[]);
    let discovered = catalog(&[
        ("calc", "calc_", true, &["add"]),
        ("text", "text_", false, &[]),
    ]);
    type Want = Option<Result<(&'static str, &'static str, bool), RouteError>>;
    let cases: Vec<(String, &CatalogStore, Want)> = vec![
        // discovered tool
        (
            call("calc_add"),
            &discovered,
            Some(Ok(("calc", "add", true))),
        ),
        // server discovered healthy without that tool: unknown
        (
            call("calc_nope"),
            &discovered,
            Some(Err(RouteError::UnknownTool("calc_nope".into()))),
        ),
        // server unhealthy: fall back to the prefix so the caller learns the server is down
        (
            call("text_upper"),
            &discovered,
            Some(Ok(("text", "upper", true))),
        ),
        // not discovered yet: configured prefixes decide
        (call("calc_add"), &empty, Some(Ok(("calc", "add", true)))),
        // disabled servers never match
        (
            call("off_x"),
            &empty,
            Some(Err(RouteError::UnknownTool("off_x".into()))),
        ),
        // no prefix matches
        (
            call("weather_x"),
            &empty,
            Some(Err(RouteError::UnknownTool("weather_x".into()))),
        ),
        // the bare prefix is not a tool
        (
            call("calc_"),
            &empty,
            Some(Err(RouteError::UnknownTool("calc_".into()))),
        ),
        // escaped names are decoded before routing
        (
            call(r"\u0063alc_add"),
            &discovered,
            Some(Ok(("calc", "add", true))),
        ),
        // missing name
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#.into(),
            &discovered,
            Some(Err(RouteError::InvalidParams(
                "tools/call: params.name (string) is required".into(),
            ))),
        ),
        // everything else goes to the broker
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.into(),
            &discovered,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
            &discovered,
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#.into(),
            &discovered,
            None,
        ),
        // a notification named tools/call is not a call
        (
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"calc_add"}}"#.into(),
            &discovered,
            None,
        ),
    ];
    for (body, store, want) in cases {
        let cat = store.load();
        let msg = Message::parse(body.as_bytes()).expect("valid message");
        let got = match decide(&config, &cat, &msg) {
            Decision::Broker => None,
            Decision::Reject(e) => Some(Err(e)),
            Decision::Tool(t) => {
                assert_eq!(
                    &body[t.name_range.clone()].chars().next(),
                    &Some('"'),
                    "{body}"
                );
                Some(Ok((
                    t.server.name.clone(),
                    t.original.into_owned(),
                    t.rewrite,
                )))
            }
        };
        let want = want.map(|w| w.map(|(s, o, r)| (s.to_owned(), o.to_owned(), r)));
        assert_eq!(got, want, "{body}");
    }
}

#[test]
fn empty_prefix_server_routes_without_rewrite() {
    let config = Config::from_yaml(
        "servers:\n  - name: solo\n    url: http://127.0.0.1:9001/mcp\n    toolPrefix: \"\"\n",
    )
    .expect("valid config");
    let cat = catalog(&[("solo", "", true, &["echo"])]);
    let body = call("echo");
    let msg = Message::parse(body.as_bytes()).expect("valid");
    let cat = cat.load();
    match decide(&config, &cat, &msg) {
        Decision::Tool(t) => {
            assert_eq!(t.server.name, "solo");
            assert!(!t.rewrite);
        }
        other => panic!("unexpected {other:?}"),
    }
}
