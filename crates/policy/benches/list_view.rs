//! What a policy adds to the broker's `tools/list` of 10,000 tools (100 servers x 100 tools),
//! the steps the broker takes per request: the caller's access, its list (the catalog's, or
//! the caller's cached view), one page of it.
//!
//! - `no_policy`: the catalog's own list, as before policies existed;
//! - `policy_cached`: a 16-rule policy, a caller whose view is already built (every request
//!   but the first of its class after a change of the catalog or the policy);
//! - `policy_first_request`: the same caller when its class has no view yet (the catalog
//!   filters 10,000 tools and their prompts, resources and templates once).
//!
//! `cargo bench -p mcp-gateway-policy --bench list_view`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_gateway_catalog::{Catalog, CatalogStore, ListKind, ServerOffer, ViewKey};
use mcp_gateway_config::Config;
use mcp_gateway_identity::Caller;
use mcp_gateway_policy::{Access, offering};
use serde_json::{Value, json};

const SERVERS: usize = 100;
const TOOLS: usize = 100;

fn catalog() -> CatalogStore {
    let store = CatalogStore::new();
    for s in 0..SERVERS {
        let tools: Vec<Value> = (0..TOOLS)
            .map(|t| {
                json!({"name": format!("tool_{t}"), "description": "A synthetic tool of the benchmark.",
                    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}})
            })
            .collect();
        store.update(
            &format!("s{s}"),
            ServerOffer::tools(&format!("s{s}_"), tools),
        );
    }
    store
}

fn config(policy: &str) -> Config {
    let mut yaml = String::from("servers:\n");
    for s in 0..SERVERS {
        yaml.push_str(&format!(
            "- {{name: s{s}, url: 'http://s{s}.test/mcp', toolPrefix: s{s}_}}\n"
        ));
    }
    yaml.push_str(policy);
    Config::from_yaml(&yaml).expect("a valid config")
}

/// Sixteen rules; the benchmark's caller (client `bob`, group `dev`) meets three of them and
/// may use 89 of each server's 100 tools.
fn policy() -> String {
    let mut policy = String::from("policy:\n  rules:\n");
    for i in 0..13 {
        policy.push_str(&format!(
            "  - {{name: team-{i}, when: {{groups: [team-{i}]}}, allow: {{servers: ['s{i}*']}}}}\n"
        ));
    }
    policy.push_str(
        "  - {name: bob-most, when: {clientIds: [bob]}, allow: {tools: ['s*_tool_*']}, deny: {tools: ['*_tool_1*']}}
  - {name: dev-tools, when: {groups: [dev]}, allow: {tools: ['s1*']}}
  - {name: nobody-admin, deny: {tools: ['*_admin_*']}}
",
    );
    policy
}

fn caller() -> Caller {
    Caller::from_claims(
        json!({"iss": "https://idp.test", "sub": "bob", "client_id": "bob",
        "groups": ["dev"]}),
    )
    .expect("claims")
}

/// What the broker does per `tools/list`: the caller's access, its list, the first page.
fn list(config: &Config, catalog: &Catalog, caller: &Caller) -> usize {
    let view = Access::of(config, Some(caller)).view(catalog);
    let listing = view
        .as_deref()
        .map_or(catalog.list(ListKind::Tools), |v| v.list(ListKind::Tools));
    let page = listing.page(0, 0);
    page.json.len()
}

fn bench(c: &mut Criterion) {
    let store = catalog();
    let catalog = store.load();
    let caller = caller();
    let open = config("");
    let restricted = config(&policy());
    let full = list(&open, &catalog, &caller);
    let filtered = list(&restricted, &catalog, &caller);
    assert_eq!(catalog.tool_count(), SERVERS * TOOLS);
    assert!(filtered < full, "the policy hides some tools");
    eprintln!("tools/list bytes: {full} without a policy, {filtered} in bob's view");

    let mut group = c.benchmark_group("tools_list_10000");
    group.bench_function("no_policy", |b| {
        b.iter(|| list(black_box(&open), &catalog, &caller))
    });
    group.bench_function("policy_cached", |b| {
        b.iter(|| list(black_box(&restricted), &catalog, &caller))
    });
    // A view no request has built yet: a fresh key each time (the catalog keeps at most
    // 1,024 views and then starts again, so memory stays bounded).
    let access = Access::of(&restricted, Some(&caller));
    let mut fresh = 0_u64;
    group.bench_function("policy_first_request", |b| {
        b.iter(|| {
            fresh += 1;
            let key = ViewKey {
                policy: fresh,
                class: u128::MAX,
            };
            let view = catalog.view(key, |kind, server, name| {
                access.check(offering(kind), server, name).allowed
            });
            view.list(ListKind::Tools).page(0, 0).json.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
