use std::sync::Arc;

use super::*;
use crate::fixtures::{two_teams, virtual_server};
use crate::plan::plan;

fn refs(names: &[(&str, Option<&str>)]) -> Vec<MCPServerRef> {
    names
        .iter()
        .map(|(name, namespace)| MCPServerRef {
            name: (*name).to_owned(),
            namespace: namespace.map(str::to_owned),
        })
        .collect()
}

fn cluster_with(virtual_servers: Vec<MCPVirtualServer>) -> crate::Cluster {
    let (servers, routes, services) = two_teams();
    crate::fixtures::cluster(servers, routes, services)
        .with_virtual_servers(virtual_servers.into_iter().map(Arc::new))
}

#[test]
fn virtual_servers_reach_the_config_with_their_mcpservers_resolved() {
    let cluster = cluster_with(vec![virtual_server(
        "team-a",
        "forecasts",
        1,
        MCPVirtualServerSpec {
            mcp_server_refs: refs(&[("weather", None)]),
            tools: vec!["gh_issues".into()],
            ..MCPVirtualServerSpec::default()
        },
    )]);
    let plan = plan(&cluster, "cluster.local");
    assert_eq!(plan.virtual_servers.len(), 1);
    assert_eq!(plan.virtual_servers[0].outcome.reason, Reason::Published);
    let v = plan.config.virtual_server("forecasts").expect("published");
    let servers: Vec<&str> = v.servers().collect();
    assert_eq!(servers, ["team-a-weather-weather"]);
    assert!(v.offers(
        mcp_gateway_config::Offering::Tool,
        "team-b-github-github",
        "gh_issues"
    ));
    let text = crate::render_config(&plan.config).unwrap();
    let reread = mcp_gateway_config::Config::from_yaml(&text).unwrap();
    assert!(reread.virtual_server("forecasts").is_some(), "{text}");
}

#[test]
fn a_bad_virtual_server_is_left_out_alone_with_why() {
    let cluster = cluster_with(vec![
        virtual_server(
            "team-a",
            "good",
            1,
            MCPVirtualServerSpec {
                tools: vec!["weather_today".into()],
                ..MCPVirtualServerSpec::default()
            },
        ),
        virtual_server(
            "team-b",
            "good",
            2,
            MCPVirtualServerSpec {
                tools: vec!["gh_x".into()],
                ..MCPVirtualServerSpec::default()
            },
        ),
        virtual_server(
            "team-a",
            "missing",
            3,
            MCPVirtualServerSpec {
                mcp_server_refs: refs(&[("nope", None)]),
                ..MCPVirtualServerSpec::default()
            },
        ),
        virtual_server("team-a", "empty", 4, MCPVirtualServerSpec::default()),
    ]);
    let plan = plan(&cluster, "cluster.local");
    let outcome = |i: usize| &plan.virtual_servers[i].outcome;
    assert_eq!(outcome(0).reason, Reason::Published);
    assert_eq!(
        outcome(1).reason,
        Reason::Invalid,
        "the younger of two same names"
    );
    assert!(
        outcome(1).message.contains("two virtual servers"),
        "{:?}",
        outcome(1)
    );
    assert!(
        outcome(2).message.contains("team-a/nope does not exist"),
        "{:?}",
        outcome(2)
    );
    assert!(
        outcome(3).message.contains("exposes nothing"),
        "{:?}",
        outcome(3)
    );
    assert_eq!(plan.config.virtual_servers().count(), 1);
    assert_eq!(plan.config.servers().len(), 2, "servers are unaffected");

    let status =
        desired_virtual_status(&plan.virtual_servers[0], None, jiff::Timestamp::UNIX_EPOCH);
    assert_eq!(status.endpoint.as_deref(), Some("/v/good/mcp"));
    assert_eq!(status.conditions[0].status, "True");
    let refused =
        desired_virtual_status(&plan.virtual_servers[2], None, jiff::Timestamp::UNIX_EPOCH);
    assert_eq!(refused.endpoint, None);
    assert_eq!(refused.conditions[0].reason, "Invalid");
}

#[test]
fn the_checked_in_crd_matches_the_types() {
    const CHECKED_IN: &str =
        include_str!("../../../../config/crd/mcp.kagenti.com_mcpvirtualservers.yaml");
    assert!(
        virtual_server_crd_yaml().unwrap() == CHECKED_IN,
        "config/crd/mcp.kagenti.com_mcpvirtualservers.yaml is out of date; regenerate it with \
         `make crds`"
    );
}
