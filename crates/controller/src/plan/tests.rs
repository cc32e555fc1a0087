use super::*;
use crate::fixtures::{cluster, mcpserver, port, route, service, target, two_teams};

fn names(plan: &Plan) -> Vec<&str> {
    plan.config
        .servers()
        .iter()
        .map(|s| s.name.as_str())
        .collect()
}

fn reasons(plan: &Plan) -> Vec<(&str, Reason)> {
    plan.servers
        .iter()
        .map(|s| (s.name.as_str(), s.outcome.reason))
        .collect()
}

#[test]
fn two_good_servers_are_both_published() {
    let (servers, routes, services) = two_teams();
    let plan = plan(&cluster(servers, routes, services), "cluster.local");
    assert_eq!(
        names(&plan),
        ["team-a-weather-weather", "team-b-github-github"]
    );
    let github = &plan.config.servers()[1];
    assert_eq!(
        github.url.as_str(),
        "https://github.team-b.svc.cluster.local/mcp"
    );
    assert_eq!(github.hostname, "github.mcp.local");
    assert_eq!(github.tool_prefix, "gh_");
    assert_eq!(
        reasons(&plan),
        [
            ("weather", Reason::Published),
            ("github", Reason::Published)
        ]
    );
    let target = &plan.servers[0].targets[0];
    assert!(target.ready);
    assert_eq!(
        target.server_name.as_deref(),
        Some("team-a-weather-weather")
    );
    assert_eq!(
        target.url.as_deref(),
        Some("http://weather.team-a.svc.cluster.local:8080/mcp")
    );
}

#[test]
fn prefix_conflict_fails_only_the_newer_server() {
    let (mut servers, routes, services) = two_teams();
    // team-b/github now wants a prefix that starts team-a/weather's.
    servers[1].spec.target_refs[0].tool_prefix = Some("weather".to_owned());
    // Input order must not matter: age decides.
    servers.reverse();
    let plan = plan(&cluster(servers, routes, services), "cluster.local");
    assert_eq!(names(&plan), ["team-a-weather-weather"]);
    assert_eq!(
        reasons(&plan),
        [
            ("weather", Reason::Published),
            ("github", Reason::PrefixConflict)
        ]
    );
    let github = &plan.servers[1];
    assert!(
        github.outcome.message.contains("team-a-weather-weather"),
        "{}",
        github.outcome.message
    );
    assert!(!github.targets[0].ready);
    assert_eq!(github.targets[0].reason, "PrefixConflict");
}

#[test]
fn hostname_conflict_fails_only_the_newer_server() {
    let (mut servers, mut routes, services) = two_teams();
    routes[1].spec.hostnames = vec!["WEATHER.mcp.local".to_owned()];
    servers[0].metadata.creation_timestamp = servers[1].metadata.creation_timestamp.clone();
    // Same age: namespace order decides (team-a first).
    let plan = plan(&cluster(servers, routes, services), "cluster.local");
    assert_eq!(
        reasons(&plan),
        [
            ("weather", Reason::Published),
            ("github", Reason::HostnameConflict)
        ]
    );
}

#[test]
fn conflict_inside_one_server_keeps_all_its_targets_out() {
    let server = mcpserver(
        "team-a",
        "tools",
        1,
        vec![target("weather", "w_"), target("maps", "w_")],
    );
    let routes = vec![
        route(
            "team-a",
            "weather",
            &["weather.mcp.local"],
            "weather",
            Some(80),
        ),
        route("team-a", "maps", &["maps.mcp.local"], "maps", Some(80)),
    ];
    let services = vec![
        service("team-a", "weather", vec![port(80, None, None)]),
        service("team-a", "maps", vec![port(80, None, None)]),
    ];
    let plan = plan(&cluster(vec![server], routes, services), "cluster.local");
    assert!(names(&plan).is_empty());
    assert_eq!(reasons(&plan), [("tools", Reason::PrefixConflict)]);
    assert!(plan.servers[0].targets.iter().all(|t| !t.ready));
}

#[test]
fn broken_target_does_not_block_its_siblings_or_other_servers() {
    let (mut servers, routes, services) = two_teams();
    servers[0].spec.target_refs.push(target("missing", "m_"));
    let plan = plan(&cluster(servers, routes, services), "cluster.local");
    assert_eq!(
        names(&plan),
        ["team-a-weather-weather", "team-b-github-github"]
    );
    assert_eq!(
        reasons(&plan),
        [
            ("weather", Reason::RouteNotFound),
            ("github", Reason::Published)
        ]
    );
    let targets = &plan.servers[0].targets;
    assert!(targets[0].ready);
    assert!(!targets[1].ready);
    assert_eq!(targets[1].reason, "RouteNotFound");
    assert!(
        targets[1]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("team-a/missing"))
    );
}

#[test]
fn invalid_prefix_fails_that_target_as_invalid() {
    let (mut servers, routes, services) = two_teams();
    servers[0].spec.target_refs[0].tool_prefix = Some("bad prefix".to_owned());
    let plan = plan(&cluster(servers, routes, services), "cluster.local");
    assert_eq!(names(&plan), ["team-b-github-github"]);
    assert_eq!(reasons(&plan)[0], ("weather", Reason::Invalid));
    assert!(
        plan.servers[0].outcome.message.contains("toolPrefix"),
        "{}",
        plan.servers[0].outcome.message
    );
}

#[test]
fn empty_prefix_allowed_only_alone() {
    let (mut servers, routes, services) = two_teams();
    servers[0].spec.target_refs[0].tool_prefix = None;
    let alone = plan(
        &cluster(vec![servers[0].clone()], routes.clone(), services.clone()),
        "cluster.local",
    );
    assert_eq!(reasons(&alone), [("weather", Reason::Published)]);
    let both = plan(&cluster(servers, routes, services), "cluster.local");
    assert_eq!(
        reasons(&both),
        [
            ("weather", Reason::Published),
            ("github", Reason::PrefixConflict)
        ]
    );
}

#[test]
fn no_targets_is_invalid_and_nothing_is_an_empty_config() {
    let server = mcpserver("team-a", "empty", 1, vec![]);
    let plan = plan(&cluster(vec![server], vec![], vec![]), "cluster.local");
    assert!(plan.config.servers().is_empty());
    assert_eq!(reasons(&plan), [("empty", Reason::Invalid)]);
    let nothing = super::plan(&Cluster::default(), "cluster.local");
    assert!(nothing.config.servers().is_empty());
    assert!(nothing.servers.is_empty());
}

#[test]
fn generation_is_carried() {
    let (mut servers, routes, services) = two_teams();
    servers[0].metadata.generation = Some(7);
    let plan = plan(&cluster(servers, routes, services), "cluster.local");
    assert_eq!(plan.servers[0].generation, Some(7));
}
