use serde_json::json;

use super::*;
use crate::ViewKey;

fn tools(names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|n| json!({"name": n, "inputSchema": {"type": "object"}}))
        .collect()
}

#[test]
fn aggregates_with_prefixes_and_routes_back() {
    let store = CatalogStore::new();
    store.update("calc", ServerOffer::tools("calc_", tools(&["add", "sqrt"])));
    store.update("text", ServerOffer::tools("text_", tools(&["upper"])));
    let cat = store.load();
    assert_eq!(cat.tool_count(), 3);
    assert_eq!(
        cat.tool("calc_add"),
        Some(&Route {
            server: "calc".into(),
            original: "add".into()
        })
    );
    assert_eq!(cat.tool("add"), None);
    let listed: Vec<Value> = serde_json::from_str(cat.tools_json()).unwrap();
    let names: Vec<&str> = listed.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["calc_add", "calc_sqrt", "text_upper"]);
    assert_eq!(listed[0]["inputSchema"], json!({"type": "object"}));
    assert_eq!(cat.server("calc").unwrap().tools, 2);
}

#[test]
fn prompts_resources_and_templates_are_exposed_reversibly() {
    let store = CatalogStore::new();
    let mut lists: [Vec<Value>; 4] = Default::default();
    lists[ListKind::Prompts.index()] = vec![json!({"name": "greet", "arguments": []})];
    lists[ListKind::Resources.index()] = vec![json!({"uri": "file:///a.txt", "name": "a"})];
    lists[ListKind::ResourceTemplates.index()] =
        vec![json!({"uriTemplate": "file:///{path}", "name": "f"})];
    let caps = json!({"prompts": {}, "resources": {"subscribe": true}, "logging": {}});
    store.update("a", ServerOffer::healthy("a_", caps, lists.clone()));
    store.update(
        "b",
        ServerOffer::healthy("b_", json!({"prompts": {}}), lists),
    );
    let cat = store.load();
    assert_eq!(cat.prompt("a_greet").map(|r| &*r.server), Some("a"));
    assert_eq!(cat.prompt("b_greet").map(|r| &*r.original), Some("greet"));
    let route = cat.resource("file://b_/a.txt").unwrap();
    assert_eq!((&*route.server, &*route.original), ("b", "file:///a.txt"));
    let templates: Vec<Value> =
        serde_json::from_str(cat.list(ListKind::ResourceTemplates).json()).unwrap();
    assert_eq!(templates[0]["uriTemplate"], "file://a_/{path}");
    let caps = cat.capabilities();
    assert!(caps.prompts && caps.resources && caps.subscribe && caps.logging && !caps.completions);
}

#[test]
fn task_capabilities_are_the_union_of_what_backends_declare() {
    let store = CatalogStore::new();
    let offer = |caps: Value| ServerOffer::healthy("", caps, Default::default());
    store.update("lister", offer(json!({"tasks": {"list": {}}})));
    let caps = store.load().capabilities();
    assert!(caps.tasks && !caps.task_cancel && !caps.task_tool_calls);
    store.update(
        "runner",
        offer(json!({"tasks": {"cancel": {}, "requests": {"tools": {"call": {}}}}})),
    );
    let caps = store.load().capabilities();
    assert!(caps.tasks && caps.task_cancel && caps.task_tool_calls);
    store.update("runner", ServerOffer::unhealthy("", "down".into()));
    let caps = store.load().capabilities();
    assert!(caps.tasks && !caps.task_cancel && !caps.task_tool_calls);
}

#[test]
fn unhealthy_servers_expose_nothing_but_are_known() {
    let store = CatalogStore::new();
    store.update("calc", ServerOffer::unhealthy("c_", "refused".into()));
    let cat = store.load();
    assert_eq!(cat.tool("c_add"), None);
    assert_eq!(cat.tools_json(), "[]");
    let status = cat.server("calc").unwrap();
    assert!(status.attempted && !status.healthy);
    assert_eq!(status.last_error.as_deref(), Some("refused"));
    assert_eq!(cat.capabilities(), Capabilities::default());
}

#[test]
fn invalid_and_duplicate_names_are_skipped() {
    let store = CatalogStore::new();
    let long = "x".repeat(130);
    let mut listed = tools(&["ok", "bad name", &long, "ok"]);
    listed.push(json!({"description": "no name"}));
    store.update("s", ServerOffer::tools("p_", listed));
    let cat = store.load();
    assert_eq!(cat.tool_count(), 1);
    assert!(cat.tool("p_ok").is_some());
}

#[test]
fn two_servers_exposing_one_name_list_it_once() {
    // Prefixes "" and "a_" both expose "a_b" ("" + "a_b", "a_" + "b"), which config
    // validation forbids but a store must survive.
    let store = CatalogStore::new();
    store.update("plain", ServerOffer::tools("", tools(&["a_b", "c"])));
    store.update("prefixed", ServerOffer::tools("a_", tools(&["b", "d"])));
    let cat = store.load();
    let listed: Vec<Value> = serde_json::from_str(cat.tools_json()).expect("JSON");
    let names: Vec<&str> = listed.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "a_b").count(),
        1,
        "{names:?}"
    );
    assert_eq!(cat.tool_count(), 3);
    assert_eq!(listed.len(), 3);
}

#[test]
fn updates_report_the_lists_that_changed() {
    let store = CatalogStore::new();
    assert_eq!(
        store.update("a", ServerOffer::tools("a_", tools(&["t"]))),
        [ListKind::Tools]
    );
    assert_eq!(
        store.update("a", ServerOffer::tools("a_", tools(&["t"]))),
        []
    );
    assert_eq!(
        store.update("a", ServerOffer::unhealthy("a_", "down".into())),
        [ListKind::Tools]
    );
    assert_eq!(store.retain(&HashSet::new()), []);
}

#[test]
fn a_stopped_publisher_cannot_bring_a_removed_server_back() {
    let store = CatalogStore::new();
    store.update("a", ServerOffer::tools("a_", tools(&["t"])));
    store.retain(&HashSet::new());
    let changed = store.update_while("a", ServerOffer::tools("a_", tools(&["t"])), || false);
    assert!(changed.is_empty());
    assert!(store.load().tool("a_t").is_none());
}

#[test]
fn retain_drops_removed_servers() {
    let store = CatalogStore::new();
    store.update("a", ServerOffer::tools("a_", tools(&["t"])));
    store.update("b", ServerOffer::tools("b_", tools(&["t"])));
    store.retain(&HashSet::from(["b"]));
    let cat = store.load();
    assert!(cat.tool("a_t").is_none());
    assert!(cat.tool("b_t").is_some());
    assert!(cat.server("a").is_none());
}

proptest::proptest! {
    /// No two exposed tools share a name, whatever the backends list.
    #[test]
    fn exposed_names_are_unique(lists in proptest::collection::vec(proptest::collection::vec("[a-c_]{1,3}", 0..6), 1..4)) {
        let store = CatalogStore::new();
        // Overlapping on purpose ("" and "a" are prefixes of "a_"): the store itself keeps
        // exposed names unique, whatever the config allowed.
        let prefixes = ["", "a", "a_"];
        for (i, names) in lists.iter().enumerate() {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            store.update(&format!("s{i}"), ServerOffer::tools(prefixes[i % 3], tools(&names)));
        }
        let cat = store.load();
        let listed: Vec<Value> = serde_json::from_str(cat.tools_json()).unwrap();
        let mut seen = HashSet::new();
        for t in &listed {
            proptest::prop_assert!(seen.insert(t["name"].as_str().unwrap().to_owned()));
        }
        proptest::prop_assert_eq!(listed.len(), cat.tool_count());
        // ...and none is lost: every exposed name a backend offered is listed once.
        let offered: HashSet<String> = lists
            .iter()
            .enumerate()
            .flat_map(|(i, names)| names.iter().map(move |n| format!("{}{n}", prefixes[i % 3])))
            .collect();
        proptest::prop_assert_eq!(seen, offered);
    }
}

#[test]
fn views_filter_once_per_key_and_reset_with_the_catalog() {
    let store = CatalogStore::new();
    store.update("calc", ServerOffer::tools("calc_", tools(&["add", "sqrt"])));
    store.update("text", ServerOffer::tools("text_", tools(&["upper"])));
    let cat = store.load();
    let key = ViewKey {
        policy: 7,
        class: 0b10,
    };
    let builds = std::cell::Cell::new(0);
    let keep = |kind: ListKind, server: &str, name: &str| {
        builds.set(builds.get() + 1);
        kind == ListKind::Tools && server == "calc" && name != "calc_sqrt"
    };
    let view = cat.view(key, keep);
    let names: Vec<Value> =
        serde_json::from_slice(view.list(ListKind::Tools).json_bytes()).unwrap();
    assert_eq!(names[0]["name"], "calc_add");
    assert_eq!(names.len(), 1);
    assert_eq!(builds.get(), 3, "each tool asked about once");
    let again = cat.view(key, keep);
    assert!(Arc::ptr_eq(&view, &again), "the same view is shared");
    assert_eq!(builds.get(), 3, "nothing filtered twice");
    let other = cat.view(
        ViewKey {
            policy: 7,
            class: 0b11,
        },
        |_, _, _| true,
    );
    assert_eq!(other.list(ListKind::Tools).len(), 3);
    assert_eq!(cat.views.len(), 2);

    store.update(
        "text",
        ServerOffer::tools("text_", tools(&["upper", "lower"])),
    );
    assert_eq!(
        store.load().views.len(),
        0,
        "a new catalog starts without views"
    );
}
