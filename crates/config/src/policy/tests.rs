use crate::{Config, ConfigError, Offering, RawConfig};

fn load(yaml: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(yaml)
}

fn messages(yaml: &str) -> Vec<String> {
    load(yaml)
        .expect_err("invalid")
        .field_errors()
        .iter()
        .map(ToString::to_string)
        .collect()
}

const ALICE_BOB: &str = r#"servers: []
policy:
  rules:
  - name: alice-all
    when: {clientIds: [alice]}
    allow: {servers: ["*"]}
  - name: bob-calc
    when: {clientIds: [bob], claims: {tenant: [acme]}}
    allow: {tools: ["calc_*"], resources: ["calc://*"]}
    deny: {servers: [calc], tools: [calc_divide]}
"#;

#[test]
fn absent_means_everything_allowed() {
    assert!(load("servers: []").unwrap().policy().is_none());
    assert!(
        load("servers: []\npolicy: null")
            .unwrap()
            .policy()
            .is_none()
    );
}

#[test]
fn rules_compile() {
    let config = load(ALICE_BOB).unwrap();
    let policy = config.policy().unwrap();
    assert_eq!(policy.rules.len(), 2);
    let bob = &policy.rules[1];
    assert_eq!(bob.name, "bob-calc");
    assert!(!bob.when.is_empty());
    assert_eq!(bob.when.claims.len(), 1);
    let allow = bob.allow.as_ref().unwrap();
    assert!(allow.covers(Offering::Tool, "anything", "calc_add"));
    assert!(!allow.covers(Offering::Tool, "calc", "text_upper"));
    assert!(
        !allow.covers(Offering::Prompt, "calc", "calc_add"),
        "no prompts named"
    );
    assert!(allow.covers(Offering::Resource, "calc", "calc://notes/1"));
    let deny = bob.deny.as_ref().unwrap();
    assert!(deny.covers(Offering::Tool, "calc", "calc_divide"));
    assert!(
        !deny.covers(Offering::Tool, "other", "calc_divide"),
        "server named"
    );
    let all = policy.rules[0].allow.as_ref().unwrap();
    for kind in [Offering::Tool, Offering::Prompt, Offering::Resource] {
        assert!(all.covers(kind, "x", "y"), "servers alone name everything");
    }
}

#[test]
fn fingerprint_follows_content_and_round_trips() {
    let a = load(ALICE_BOB).unwrap();
    let b = load(&ALICE_BOB.replace("calc_divide", "calc_mul")).unwrap();
    assert_eq!(
        a.policy().unwrap().fingerprint,
        load(ALICE_BOB).unwrap().policy().unwrap().fingerprint
    );
    assert_ne!(
        a.policy().unwrap().fingerprint,
        b.policy().unwrap().fingerprint
    );
    let raw = RawConfig::from(&a);
    let text = serde_yaml::to_string(&raw).unwrap();
    assert_eq!(load(&text).unwrap(), a, "{text}");
}

#[test]
fn errors_name_the_field() {
    let errors = messages(
        r#"servers: []
policy:
  rules:
  - name: a
    when: {subjects: [], claims: {"": [x]}}
    allow: {tools: [""]}
  - name: a
  - allow: {}
    deny: {servers: ["*"]}
"#,
    );
    assert_eq!(
        errors,
        [
            "policy.rules[0].when.subjects: is empty (leave it out to put no condition)",
            "policy.rules[0].when.claims \"\": a claim name is empty",
            "policy.rules[0].allow.tools[0] \"\": is an empty pattern",
            "policy.rules[1].name \"a\": is used twice",
            "policy.rules[1]: needs `allow:` or `deny:`",
            "policy.rules[2].name: is required",
            "policy.rules[2].allow: names nothing: give servers, tools, prompts or resources",
        ]
    );
    assert_eq!(
        messages("servers: []\npolicy: {rules: []}"),
        ["policy.rules: must list at least one rule (remove `policy:` to allow everything)"]
    );
    let many: String = (0..129)
        .map(|i| format!("  - {{name: r{i}, allow: {{servers: [s]}}}}\n"))
        .collect();
    assert_eq!(
        messages(&format!("servers: []\npolicy:\n  rules:\n{many}")),
        ["policy.rules: has 129 rules; at most 128 are allowed"]
    );
}
