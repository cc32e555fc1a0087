use envoy_types::pb::google::rpc::Status;
use prost::Message;

use super::*;

fn config(servers: &[&str]) -> Config {
    let mut yaml = String::from("servers:\n");
    for name in servers {
        yaml.push_str(&format!(
            "  - name: {name}\n    url: http://{name}.internal/mcp\n    hostname: {name}.mcp.test\n    toolPrefix: {name}_\n"
        ));
    }
    if servers.is_empty() {
        yaml = String::from("servers: []\n");
    }
    Config::from_yaml(&yaml).expect("valid")
}

fn request(kind: Kind, names: &[&str], nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: kind.type_url(),
        resource_names: names.iter().map(|n| (*n).to_owned()).collect(),
        response_nonce: nonce.to_owned(),
        ..Default::default()
    }
}

fn ack(response: &DiscoveryResponse, names: &[&str]) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: response.version_info.clone(),
        ..request(kind_of(response), names, &response.nonce)
    }
}

fn nack(response: &DiscoveryResponse) -> DiscoveryRequest {
    DiscoveryRequest {
        error_detail: Some(Status {
            code: 3,
            message: "bad cluster".to_owned(),
            ..Default::default()
        }),
        ..request(kind_of(response), &[], &response.nonce)
    }
}

fn kind_of(response: &DiscoveryResponse) -> Kind {
    Kind::from_type_url(&response.type_url).expect("known type")
}

fn cluster_names(response: &DiscoveryResponse) -> Vec<String> {
    response
        .resources
        .iter()
        .map(|any| {
            assert_eq!(any.type_url, Kind::Cluster.type_url());
            Cluster::decode(any.value.as_slice()).expect("cluster").name
        })
        .collect()
}

#[test]
fn first_request_gets_the_current_clusters() {
    let snapshot = Snapshot::new(&config(&["a", "b"]));
    let mut subs = Subscriptions::default();
    let response = subs
        .on_request(&request(Kind::Cluster, &[], ""), &snapshot)
        .expect("a response");
    assert_eq!(
        response.type_url,
        "type.googleapis.com/envoy.config.cluster.v3.Cluster"
    );
    assert_eq!(response.version_info, snapshot.version(Kind::Cluster));
    assert!(!response.nonce.is_empty());
    assert_eq!(cluster_names(&response), ["mcp_server_a", "mcp_server_b"]);
}

#[test]
fn first_route_request_gets_the_route_table() {
    let snapshot = Snapshot::new(&config(&["a"]));
    let mut subs = Subscriptions::default();
    let response = subs
        .on_request(&request(Kind::Route, &[ROUTE_CONFIG_NAME], ""), &snapshot)
        .expect("a response");
    let [any] = response.resources.as_slice() else {
        panic!("one route table expected");
    };
    let routes = RouteConfiguration::decode(any.value.as_slice()).expect("routes");
    assert_eq!(routes.name, ROUTE_CONFIG_NAME);
    assert_eq!(routes.virtual_hosts.len(), 2);
}

#[test]
fn route_requests_for_other_names_get_nothing() {
    let snapshot = Snapshot::new(&config(&["a"]));
    let mut subs = Subscriptions::default();
    assert!(
        subs.on_request(&request(Kind::Route, &["other"], ""), &snapshot)
            .is_none()
    );
    // Until the subscription names the table.
    let response = subs.on_request(
        &request(Kind::Route, &["other", ROUTE_CONFIG_NAME], ""),
        &snapshot,
    );
    assert!(response.is_some());
}

#[test]
fn empty_route_names_get_the_table() {
    let snapshot = Snapshot::new(&config(&["a"]));
    let mut subs = Subscriptions::default();
    assert!(
        subs.on_request(&request(Kind::Route, &[], ""), &snapshot)
            .is_some()
    );
}

#[test]
fn ack_needs_no_reply() {
    let snapshot = Snapshot::new(&config(&["a"]));
    let mut subs = Subscriptions::default();
    let response = subs
        .on_request(&request(Kind::Cluster, &[], ""), &snapshot)
        .expect("a response");
    assert!(subs.on_request(&ack(&response, &[]), &snapshot).is_none());
}

#[test]
fn ack_with_new_names_gets_a_reply() {
    let snapshot = Snapshot::new(&config(&["a"]));
    let mut subs = Subscriptions::default();
    let first = subs
        .on_request(&request(Kind::Route, &[ROUTE_CONFIG_NAME], ""), &snapshot)
        .expect("a response");
    let again = subs.on_request(&ack(&first, &[ROUTE_CONFIG_NAME, "more"]), &snapshot);
    let again = again.expect("names changed, so the table is sent again");
    assert_ne!(again.nonce, first.nonce, "every response has a fresh nonce");
    assert_eq!(again.version_info, first.version_info);
}

#[test]
fn nack_is_not_answered_and_later_changes_still_flow() {
    let snapshot = Snapshot::new(&config(&["a"]));
    let mut subs = Subscriptions::default();
    let response = subs
        .on_request(&request(Kind::Cluster, &[], ""), &snapshot)
        .expect("a response");
    assert!(subs.on_request(&nack(&response), &snapshot).is_none());
    assert!(subs.on_request(&nack(&response), &snapshot).is_none());
    let next = Snapshot::new(&config(&["a", "b"]));
    let pushed = subs.on_config(&next);
    assert_eq!(pushed.len(), 1);
    assert_eq!(cluster_names(&pushed[0]), ["mcp_server_a", "mcp_server_b"]);
}

#[test]
fn stale_nonces_are_ignored() {
    let mut subs = Subscriptions::default();
    let snapshot = Snapshot::new(&config(&["a"]));
    let first = subs
        .on_request(&request(Kind::Cluster, &[], ""), &snapshot)
        .expect("a response");
    let next = Snapshot::new(&config(&["a", "b"]));
    let second = subs.on_config(&next).pop().expect("a push");
    // Envoy's ACK of the first push crosses the second one: stale, ignored, even
    // though it names different resources.
    assert!(subs.on_request(&ack(&first, &["x"]), &next).is_none());
    assert!(subs.on_request(&nack(&first), &next).is_none());
    assert!(subs.on_request(&ack(&second, &[]), &next).is_none());
}

#[test]
fn config_change_pushes_clusters_then_routes() {
    let mut subs = Subscriptions::default();
    let snapshot = Snapshot::new(&config(&["a"]));
    let routes = subs
        .on_request(&request(Kind::Route, &[ROUTE_CONFIG_NAME], ""), &snapshot)
        .expect("routes");
    let clusters = subs
        .on_request(&request(Kind::Cluster, &[], ""), &snapshot)
        .expect("clusters");
    let next = Snapshot::new(&config(&["a", "b"]));
    let pushed = subs.on_config(&next);
    let kinds: Vec<Kind> = pushed.iter().map(kind_of).collect();
    assert_eq!(kinds, [Kind::Cluster, Kind::Route]);
    assert_ne!(pushed[0].version_info, clusters.version_info);
    assert_ne!(pushed[1].version_info, routes.version_info);
}

#[test]
fn config_change_pushes_only_subscribed_and_changed_types() {
    let mut subs = Subscriptions::default();
    assert!(
        subs.on_config(&Snapshot::new(&config(&["a"]))).is_empty(),
        "nothing subscribed"
    );
    let snapshot = Snapshot::new(&config(&["a"]));
    subs.on_request(&request(Kind::Cluster, &[], ""), &snapshot);
    assert!(
        subs.on_config(&Snapshot::new(&config(&["a"]))).is_empty(),
        "same resources, same version: nothing to send"
    );
    let pushed = subs.on_config(&Snapshot::new(&config(&["a", "b"])));
    assert_eq!(
        pushed.iter().map(kind_of).collect::<Vec<_>>(),
        [Kind::Cluster]
    );
}

#[test]
fn versions_follow_content() {
    let a = Snapshot::new(&config(&["a"]));
    assert_eq!(
        a.version(Kind::Cluster),
        Snapshot::new(&config(&["a"])).version(Kind::Cluster)
    );
    assert_ne!(
        a.version(Kind::Cluster),
        Snapshot::new(&config(&["b"])).version(Kind::Cluster)
    );
    assert_ne!(
        a.version(Kind::Route),
        Snapshot::new(&Config::empty()).version(Kind::Route)
    );
}

#[test]
fn unknown_types_are_ignored() {
    let mut subs = Subscriptions::default();
    let listener = DiscoveryRequest {
        type_url: "type.googleapis.com/envoy.config.listener.v3.Listener".to_owned(),
        ..Default::default()
    };
    let snapshot = Snapshot::new(&config(&["a"]));
    assert!(subs.on_request(&listener, &snapshot).is_none());
    assert!(subs.on_config(&Snapshot::new(&config(&["b"]))).is_empty());
}
