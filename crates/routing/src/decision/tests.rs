use mcp_gateway_catalog::{CatalogStore, ServerOffer};
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
        let offer = if *healthy {
            ServerOffer::tools(prefix, tools.iter().map(|t| json!({"name": t})).collect())
        } else {
            ServerOffer::unhealthy(prefix, "down".into())
        };
        store.update(server, offer);
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
            Decision::Backend(t) => {
                assert_eq!(&body[t.range.clone()].chars().next(), &Some('"'), "{body}");
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
        Decision::Backend(t) => {
            assert_eq!(t.server.name, "solo");
            assert!(!t.rewrite);
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn request(method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":"r1","method":"{method}","params":{params}}}"#)
}

#[test]
fn prompts_resources_completions_and_tasks() {
    use mcp_gateway_catalog::ListKind;

    let config = Config::from_yaml(CONFIG).expect("valid config");
    let store = CatalogStore::new();
    let mut lists: [Vec<serde_json::Value>; 4] = Default::default();
    lists[ListKind::Prompts as usize] = vec![json!({"name": "greet"})];
    lists[ListKind::Resources as usize] = vec![json!({"uri": "file:///notes.txt"})];
    store.update(
        "calc",
        ServerOffer::healthy("calc_", json!({"prompts": {}, "resources": {}}), lists),
    );
    let cat = store.load();
    type Want = Result<(&'static str, &'static str, Addressed), &'static str>;
    let cases: Vec<(String, Want)> = vec![
        (
            request("prompts/get", r#"{"name":"calc_greet"}"#),
            Ok(("calc", "greet", Addressed::Prompt)),
        ),
        (
            request("prompts/get", r#"{"name":"calc_nope"}"#),
            Err("unknown prompt \"calc_nope\""),
        ),
        // not discovered yet: by prefix
        (
            request("prompts/get", r#"{"name":"text_hi"}"#),
            Ok(("text", "hi", Addressed::Prompt)),
        ),
        (
            request("resources/read", r#"{"uri":"file://calc_/notes.txt"}"#),
            Ok(("calc", "file:///notes.txt", Addressed::Resource)),
        ),
        // a URI from a template is not listed but still routes by its prefix
        (
            request("resources/read", r#"{"uri":"file://calc_/other.txt"}"#),
            Ok(("calc", "file:///other.txt", Addressed::Resource)),
        ),
        (
            request("resources/subscribe", r#"{"uri":"ui://text_widget"}"#),
            Ok(("text", "ui://widget", Addressed::Resource)),
        ),
        (
            request("resources/unsubscribe", r#"{"uri":"ui://text_widget"}"#),
            Ok(("text", "ui://widget", Addressed::Resource)),
        ),
        // the backend's own URI of a listed resource (as a tool's resource_link names it)
        (
            request("resources/read", r#"{"uri":"file:///notes.txt"}"#),
            Ok(("calc", "file:///notes.txt", Addressed::Resource)),
        ),
        (
            request("resources/read", r#"{"uri":"file:///other.txt"}"#),
            Err("no MCP server offers resource \"file:///other.txt\""),
        ),
        (
            request("resources/read", r#"{}"#),
            Err("resources/read: params.uri (string) is required"),
        ),
        (
            request(
                "completion/complete",
                r#"{"ref":{"type":"ref/prompt","name":"calc_greet"},"argument":{"name":"a","value":""}}"#,
            ),
            Ok(("calc", "greet", Addressed::Prompt)),
        ),
        (
            request(
                "completion/complete",
                r#"{"ref":{"type":"ref/resource","uri":"file://calc_/{path}"},"argument":{"name":"path","value":""}}"#,
            ),
            Ok(("calc", "file:///{path}", Addressed::Resource)),
        ),
        (
            request("tasks/get", r#"{"taskId":"calc:7"}"#),
            Ok(("calc", "7", Addressed::Task)),
        ),
        (
            request("tasks/result", r#"{"taskId":"text:a:b"}"#),
            Ok(("text", "a:b", Addressed::Task)),
        ),
        (
            request("tasks/cancel", r#"{"taskId":"calc:7"}"#),
            Ok(("calc", "7", Addressed::Task)),
        ),
        (
            request("tasks/get", r#"{"taskId":"7"}"#),
            Err("unknown task \"7\""),
        ),
        (
            request("tasks/get", r#"{"taskId":"off:7"}"#),
            Err("unknown task \"off:7\""),
        ),
        (
            request("tasks/get", r#"{"taskId":"weather:7"}"#),
            Err("unknown task \"weather:7\""),
        ),
        (
            request("tasks/get", r#"{"taskId":7}"#),
            Err("tasks/get: params.taskId (string) is required"),
        ),
        (
            request("completion/complete", r#"{"ref":{"type":"ref/other"}}"#),
            Err("completion/complete: params.ref.type must be \"ref/prompt\" or \"ref/resource\""),
        ),
    ];
    for (body, want) in cases {
        let msg = Message::parse(body.as_bytes()).expect("valid message");
        let got = match decide(&config, &cat, &msg) {
            Decision::Backend(t) => {
                // The range covers exactly the exposed string token.
                let token = &body[t.range.clone()];
                assert!(token.starts_with('"') && token.ends_with('"'), "{body}");
                Ok((t.server.name.clone(), t.original.into_owned(), t.kind))
            }
            Decision::Reject(e) => Err(e.to_string()),
            Decision::Broker => panic!("{body} went to the broker"),
        };
        let want = want
            .map(|(s, o, k)| (s.to_owned(), o.to_owned(), k))
            .map_err(str::to_owned);
        assert_eq!(got, want, "{body}");
    }
}

#[test]
fn responses_to_server_requests_go_back_to_their_server() {
    let config = Config::from_yaml(CONFIG).expect("valid config");
    let cat = CatalogStore::new().load();
    let cases: Vec<(&str, Option<(&str, &str)>)> = vec![
        (
            r#"{"jsonrpc":"2.0","id":"calc:0","result":{}}"#,
            Some(("calc", "0")),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"text:\"abc\"","error":{"code":-1,"message":"no"}}"#,
            Some(("text", "\"abc\"")),
        ),
        // not ours, unknown or disabled server: the broker accepts and drops it
        (r#"{"jsonrpc":"2.0","id":7,"result":{}}"#, None),
        (r#"{"jsonrpc":"2.0","id":"weather:1","result":{}}"#, None),
        (r#"{"jsonrpc":"2.0","id":"off:1","result":{}}"#, None),
    ];
    for (body, want) in cases {
        let msg = Message::parse(body.as_bytes()).expect("valid message");
        let got = match decide(&config, &cat, &msg) {
            Decision::Backend(t) => {
                assert_eq!(t.kind, Addressed::Response);
                assert_eq!(&body[t.range.clone()], msg.id_raw().expect("id"));
                Some((t.server.name.clone(), t.original.into_owned()))
            }
            Decision::Broker => None,
            Decision::Reject(e) => panic!("{body}: {e}"),
        };
        assert_eq!(
            got,
            want.map(|(s, o)| (s.to_owned(), o.to_owned())),
            "{body}"
        );
    }
}

/// A backend's own URI (a tool's `resource_link`) goes to the one server whose listed
/// resources or URI templates produce it, untouched; two such servers are named in a refusal.
#[test]
fn backend_uris_go_to_the_server_that_lists_them() {
    use mcp_gateway_catalog::ListKind;

    let config = Config::from_yaml(CONFIG).expect("valid config");
    let store = CatalogStore::new();
    let offer = |resources: &[&str], templates: &[&str]| {
        let mut lists: [Vec<serde_json::Value>; 4] = Default::default();
        lists[ListKind::Resources as usize] = resources.iter().map(|u| json!({"uri": u})).collect();
        lists[ListKind::ResourceTemplates as usize] = templates
            .iter()
            .map(|t| json!({"uriTemplate": t}))
            .collect();
        ServerOffer::healthy("", json!({"resources": {}}), lists)
    };
    let mut calc = offer(&["demo://shared"], &["demo://dynamic/text/{id}"]);
    calc.prefix = "calc_".into();
    let mut text = offer(&["demo://shared", "memo://only"], &[]);
    text.prefix = "text_".into();
    store.update("calc", calc);
    store.update("text", text);
    let cat = store.load();
    let read = |uri: &str| request("resources/read", &format!(r#"{{"uri":"{uri}"}}"#));
    type Want = Result<(&'static str, &'static str, bool), &'static str>;
    let cases: Vec<(String, Want)> = vec![
        (
            read("demo://dynamic/text/7"),
            Ok(("calc", "demo://dynamic/text/7", false)),
        ),
        (read("memo://only"), Ok(("text", "memo://only", false))),
        (
            request("resources/subscribe", r#"{"uri":"memo://only"}"#),
            Ok(("text", "memo://only", false)),
        ),
        // the gateway's own URI still wins
        (
            read("demo://calc_dynamic/text/7"),
            Ok(("calc", "demo://dynamic/text/7", true)),
        ),
        (
            read("demo://shared"),
            Err(
                "resource \"demo://shared\" is offered by both \"calc\" and \"text\"; read it by the URI the gateway lists for it",
            ),
        ),
        (
            read("demo://dynamic/blob/7"),
            Err("no MCP server offers resource \"demo://dynamic/blob/7\""),
        ),
    ];
    for (body, want) in cases {
        let msg = Message::parse(body.as_bytes()).expect("valid message");
        let got = match decide(&config, &cat, &msg) {
            Decision::Backend(t) => Ok((t.server.name.clone(), t.original.into_owned(), t.rewrite)),
            Decision::Reject(e) => Err(e.to_string()),
            Decision::Broker => panic!("{body} went to the broker"),
        };
        let want = want
            .map(|(s, o, r)| (s.to_owned(), o.to_owned(), r))
            .map_err(str::to_owned);
        assert_eq!(got, want, "{body}");
    }
}
