use std::sync::Arc;

use mcp_gateway_catalog::{CatalogStore, ListKind, ServerOffer};
use mcp_gateway_config::{Config, Offering};
use mcp_gateway_identity::Caller;
use serde_json::{Value, json};

use crate::{Access, Class, Verdict};

const POLICY: &str = r#"servers: []
policy:
  rules:
  - name: alice-all
    when: {clientIds: [alice]}
    allow: {servers: ["*"]}
  - name: bob-calc
    when: {clientIds: [bob]}
    allow: {tools: ["calc_*"]}
  - name: no-divide
    when: {groups: [interns]}
    deny: {tools: [calc_divide]}
  - name: public-prompts
    allow: {prompts: ["*"]}
  - name: eu
    when: {claims: {region: [eu-*]}, scopes: [mcp:read]}
    allow: {resources: ["calc://*"]}
"#;

fn config() -> Config {
    Config::from_yaml(POLICY).unwrap()
}

fn caller(claims: Value) -> Caller {
    let mut claims = claims;
    claims["iss"] = json!("http://issuer");
    claims["sub"] = claims.get("sub").cloned().unwrap_or(json!("someone"));
    Caller::from_claims(claims).unwrap()
}

fn allowed(access: &Access<'_>, kind: Offering, server: &str, name: &str) -> bool {
    access.check(kind, server, name).allowed
}

#[test]
fn classes_follow_the_rules_a_caller_meets() {
    let config = config();
    let policy = config.policy().unwrap();
    let of = |c: Value| Class::of(policy, Some(&caller(c))).0;
    assert_eq!(of(json!({"azp": "alice"})), 0b01001);
    assert_eq!(of(json!({"client_id": "bob"})), 0b01010);
    assert_eq!(of(json!({"azp": "bob", "groups": ["interns"]})), 0b01110);
    assert_eq!(
        of(json!({"region": "eu-west", "scope": "a mcp:read"})),
        0b11000
    );
    assert_eq!(
        of(json!({"region": "eu-west"})),
        0b01000,
        "every condition must hold"
    );
    assert_eq!(
        of(json!({"region": ["us", "eu-1"], "scp": ["mcp:read"]})),
        0b11000
    );
    assert_eq!(
        Class::of(policy, None).0,
        0b01000,
        "anonymous: unconditioned rules only"
    );
}

#[test]
fn deny_beats_allow_and_nothing_allowed_is_denied() {
    let config = config();
    let alice = caller(json!({"azp": "alice"}));
    let alice = Access::of(&config, Some(&alice));
    assert_eq!(
        alice.check(Offering::Tool, "text", "text_upper"),
        Verdict {
            allowed: true,
            rule: Some("alice-all")
        }
    );
    let bob = caller(json!({"azp": "bob"}));
    let bob = Access::of(&config, Some(&bob));
    assert!(allowed(&bob, Offering::Tool, "calc", "calc_divide"));
    assert_eq!(
        bob.check(Offering::Tool, "text", "text_upper"),
        Verdict {
            allowed: false,
            rule: None
        }
    );
    assert_eq!(
        bob.check(Offering::Prompt, "text", "text_greet").rule,
        Some("public-prompts")
    );
    assert!(!allowed(&bob, Offering::Resource, "calc", "calc://notes"));
    let intern = caller(json!({"azp": "bob", "groups": "interns"}));
    let intern = Access::of(&config, Some(&intern));
    assert_eq!(
        intern.check(Offering::Tool, "calc", "calc_divide"),
        Verdict {
            allowed: false,
            rule: Some("no-divide")
        }
    );
    assert!(allowed(&intern, Offering::Tool, "calc", "calc_add"));
}

#[test]
fn without_a_policy_everything_is_allowed_and_unfiltered() {
    let config = Config::from_yaml("servers: []").unwrap();
    let access = Access::of(&config, None);
    assert!(allowed(&access, Offering::Tool, "x", "y"));
    assert_eq!(access.view_key(), None);
    assert!(access.view(&CatalogStore::new().load()).is_none());
}

#[test]
fn views_are_shared_by_callers_of_one_class() {
    let store = CatalogStore::new();
    let tools = |names: &[&str]| names.iter().map(|n| json!({"name": n})).collect();
    store.update(
        "calc",
        ServerOffer::tools("calc_", tools(&["add", "divide"])),
    );
    store.update("text", ServerOffer::tools("text_", tools(&["upper"])));
    let catalog = store.load();
    let config = config();
    let names = |c: Value| {
        let caller = caller(c);
        let view = Access::of(&config, Some(&caller)).view(&catalog).unwrap();
        let items: Vec<Value> =
            serde_json::from_slice(view.list(ListKind::Tools).json_bytes()).unwrap();
        let names: Vec<String> = items
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        (view, names)
    };
    let (alice, all) = names(json!({"azp": "alice", "sub": "a1"}));
    assert_eq!(all, ["calc_add", "calc_divide", "text_upper"]);
    let (bob, calc) = names(json!({"azp": "bob"}));
    assert_eq!(calc, ["calc_add", "calc_divide"]);
    let (intern, no_divide) = names(json!({"azp": "bob", "groups": ["interns"]}));
    assert_eq!(no_divide, ["calc_add"]);
    let (alice2, _) = names(json!({"azp": "alice", "sub": "a2"}));
    assert!(Arc::ptr_eq(&alice, &alice2), "one view per class");
    assert!(!Arc::ptr_eq(&alice, &bob) && !Arc::ptr_eq(&bob, &intern));
}
