use mcp_gateway_catalog::{CatalogStore, ListKind, ServerOffer};
use mcp_gateway_config::{Config, Offering};
use serde_json::{Value, json};

use crate::{Access, Scope};

const CONFIG: &str = "servers:
- {name: calc, url: 'http://calc/mcp', toolPrefix: calc_}
- {name: text, url: 'http://text/mcp', toolPrefix: text_}
virtualServers:
- {name: adding, tools: [calc_add]}
- {name: texts, servers: [text]}
";

fn names(view: Option<std::sync::Arc<mcp_gateway_catalog::View>>) -> Vec<String> {
    let view = view.expect("a filtered view");
    let items: Vec<Value> =
        serde_json::from_slice(view.list(ListKind::Tools).json_bytes()).unwrap();
    items
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_virtual_server_sees_only_its_subset() {
    let store = CatalogStore::new();
    let tools = |names: &[&str]| names.iter().map(|n| json!({"name": n})).collect();
    store.update(
        "calc",
        ServerOffer::tools("calc_", tools(&["add", "divide"])),
    );
    store.update("text", ServerOffer::tools("text_", tools(&["upper"])));
    let catalog = store.load();
    let config = Config::from_yaml(CONFIG).unwrap();
    let access = Access::of(&config, None);
    let whole = Scope::new(access, None);
    assert!(
        whole.view(&catalog).is_none(),
        "/mcp: the catalog's own lists"
    );
    assert!(whole.allows(Offering::Tool, "calc", "calc_divide"));

    let adding = Scope::new(access, config.virtual_server("adding"));
    assert_eq!(names(adding.view(&catalog)), ["calc_add"]);
    assert!(adding.allows(Offering::Tool, "calc", "calc_add"));
    assert!(!adding.allows(Offering::Tool, "calc", "calc_divide"));
    assert!(!adding.allows(Offering::Tool, "text", "text_upper"));

    let texts = Scope::new(access, config.virtual_server("texts"));
    assert_eq!(names(texts.view(&catalog)), ["text_upper"]);
    assert_ne!(adding.view_key(), texts.view_key());

    // Fan-out (logging/setLevel) reaches only the servers the subset touches.
    assert!(whole.reaches(&catalog, "calc") && whole.reaches(&catalog, "text"));
    assert!(adding.reaches(&catalog, "calc"), "it offers calc_add");
    assert!(!adding.reaches(&catalog, "text"));
    assert!(texts.reaches(&catalog, "text") && !texts.reaches(&catalog, "calc"));
}

#[test]
fn a_policy_still_applies_inside_a_virtual_server() {
    let config = Config::from_yaml(&format!(
        "{CONFIG}policy:\n  rules: [{{name: no-add, deny: {{tools: [calc_add]}}, allow: {{servers: ['*']}}}}]\n"
    ))
    .unwrap();
    let scope = Scope::new(Access::of(&config, None), config.virtual_server("adding"));
    assert!(!scope.allows(Offering::Tool, "calc", "calc_add"));
    let policy_only = Access::of(&config, None).view_key();
    assert_ne!(scope.view_key(), policy_only);
}
