use mcp_gateway_catalog::{CatalogStore, ServerOffer};
use mcp_gateway_config::Config;
use mcp_gateway_protocol::Message;
use serde_json::json;

use super::*;
use crate::{Decision, decide};

const CONFIG: &str = r#"
servers:
  - {name: calc, url: 'http://calc:9001/mcp', toolPrefix: calc_}
  - {name: text, url: 'http://text:9002/mcp', toolPrefix: text_}
virtualServers:
  - name: adding
    tools: [calc_add]
    prompts: [text_greet]
    resources: ['notes://text_{id}']
  - {name: texts, servers: [text]}
"#;

fn catalog() -> CatalogStore {
    let store = CatalogStore::new();
    let tools = |names: &[&str]| names.iter().map(|n| json!({"name": n})).collect();
    store.update(
        "calc",
        ServerOffer::tools("calc_", tools(&["add", "divide"])),
    );
    let prompts = vec![json!({"name": "greet"})];
    let offer = ServerOffer::healthy(
        "text_",
        json!({"tools": {}, "prompts": {}}),
        [tools(&["upper"]), prompts, vec![], vec![]],
    );
    store.update("text", offer);
    store
}

fn request(method: &str, params: serde_json::Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
}

/// The router's answer to `body` on the endpoint of `virtual_server`: `Ok(server)` when it
/// is routed, else the error.
fn verdict(
    config: &Config,
    virtual_server: Option<&str>,
    body: &str,
) -> Result<String, RouteError> {
    let store = catalog();
    let catalog = store.load();
    let msg = Message::parse(body.as_bytes()).unwrap();
    let ctx = RequestContext {
        virtual_server: virtual_server.map(str::to_owned),
        ..RequestContext::default()
    };
    match decide(config, &catalog, &msg) {
        Decision::Backend(target) => {
            check(config, &catalog, &ctx, &target).map(|()| target.server.name.clone())
        }
        Decision::Reject(error) => Err(error),
        Decision::Broker => panic!("not routed: {body}"),
    }
}

#[test]
fn outside_the_subset_is_unknown() {
    let config = Config::from_yaml(CONFIG).unwrap();
    let call = |name: &str| request("tools/call", json!({"name": name}));
    let prompt = |name: &str| request("prompts/get", json!({"name": name}));
    let read = |uri: &str| request("resources/read", json!({"uri": uri}));
    let complete = |name: &str| {
        request(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": name}, "argument": {"name": "a", "value": ""}}),
        )
    };
    let routed = |s: &str| Ok(s.to_owned());
    // (endpoint, body, answer)
    let cases = [
        (None, call("calc_divide"), routed("calc")),
        (Some("adding"), call("calc_add"), routed("calc")),
        (
            Some("adding"),
            call("calc_divide"),
            Err(RouteError::UnknownTool("calc_divide".into())),
        ),
        (
            Some("adding"),
            call("text_upper"),
            Err(RouteError::UnknownTool("text_upper".into())),
        ),
        (Some("texts"), call("text_upper"), routed("text")),
        (
            Some("texts"),
            call("calc_add"),
            Err(RouteError::UnknownTool("calc_add".into())),
        ),
        (Some("adding"), prompt("text_greet"), routed("text")),
        (
            Some("adding"),
            prompt("text_other"),
            Err(RouteError::InvalidParams(
                "unknown prompt \"text_other\"".into(),
            )),
        ),
        (Some("adding"), complete("text_greet"), routed("text")),
        (
            Some("adding"),
            complete("calc_p"),
            Err(RouteError::InvalidParams(
                "unknown prompt \"calc_p\"".into(),
            )),
        ),
        (Some("adding"), read("notes://text_7"), routed("text")),
        (
            Some("adding"),
            read("notes://calc_7"),
            Err(RouteError::InvalidParams(
                "no MCP server offers resource \"notes://calc_7\"".into(),
            )),
        ),
        // A virtual server that a reload removed: nothing is in it.
        (
            Some("gone"),
            call("calc_add"),
            Err(RouteError::UnknownTool("calc_add".into())),
        ),
    ];
    for (endpoint, body, want) in cases {
        assert_eq!(
            verdict(&config, endpoint, &body),
            want,
            "{endpoint:?} {body}"
        );
    }
}

#[test]
fn the_refusal_is_the_error_for_a_name_nobody_offers() {
    let config = Config::from_yaml(CONFIG).unwrap();
    let store = catalog();
    let catalog = store.load();
    let body = request("tools/call", json!({"name": "calc_nothing"}));
    let msg = Message::parse(body.as_bytes()).unwrap();
    let Decision::Reject(nobody) = decide(&config, &catalog, &msg) else {
        panic!("calc_nothing is unknown");
    };
    let outside = verdict(
        &config,
        Some("texts"),
        &request("tools/call", json!({"name": "calc_nothing"}).clone()),
    );
    assert_eq!(outside, Err(nobody.clone()));
    assert_eq!(unknown(Offering::Tool, "calc_nothing"), nobody);
}
