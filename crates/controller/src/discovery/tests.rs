//! Discovery against a real MCP server (the rmcp calc example) on loopback, reached
//! by a cluster Service name through the resolve override.

use super::*;
use crate::fixtures::Calc;

const HOST: &str = "calc.team-a.svc.cluster.local";

const CALC_TOOLS: [&str; 7] = [
    "calc_add",
    "calc_divide",
    "calc_multiply",
    "calc_sqrt",
    "calc_subtract",
    "calc_sum",
    "calc_whoami",
];

fn discovery() -> Discovery {
    Discovery::new(&DiscoverySettings {
        timeout: Duration::from_secs(2),
        resolve: vec![(HOST.to_owned(), ([127, 0, 0, 1], 0).into())],
        ..DiscoverySettings::default()
    })
    .expect("client builds")
}

#[tokio::test]
async fn lists_every_page_and_reports_prefixed_names() {
    let calc = Calc::start(HOST).await;
    let discovery = discovery();
    assert_eq!(
        discovery.exposed(&calc.url, "calc_"),
        None,
        "nothing listed yet"
    );

    discovery.track(vec![calc.url.clone()]);
    assert!(discovery.refresh().await, "a first listing is a change");
    let exposed = discovery.exposed(&calc.url, "calc_").expect("listed");
    assert_eq!(exposed, CALC_TOOLS);
    let snapshot = calc.stats.snapshot();
    assert_eq!(snapshot.initialize, 1, "one session per listing");
    assert_eq!(snapshot.sessions_ended, 1, "the listing's session is ended");

    assert!(!discovery.refresh().await, "same tools: no change");
    assert_eq!(calc.stats.snapshot().initialize, 2);
    calc.stop().await;
}

#[tokio::test]
async fn tracking_a_new_server_wakes_the_loop() {
    let discovery = discovery();
    discovery.track(vec![Url::parse("http://a.example/mcp").expect("URL")]);
    tokio::time::timeout(Duration::from_secs(1), discovery.woken())
        .await
        .expect("a new URL wakes discovery");
    // The same list again is not new.
    discovery.track(vec![Url::parse("http://a.example/mcp").expect("URL")]);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), discovery.woken())
            .await
            .is_err(),
        "an unchanged list does not wake discovery"
    );
}

#[tokio::test]
async fn a_dead_server_loses_its_tools_and_an_untracked_one_is_forgotten() {
    let calc = Calc::start(HOST).await;
    let url = calc.url.clone();
    let discovery = discovery();
    discovery.track(vec![url.clone()]);
    assert!(discovery.refresh().await);
    assert!(discovery.exposed(&url, "").is_some());

    calc.stop().await;
    assert!(discovery.refresh().await, "losing the tools is a change");
    assert_eq!(discovery.exposed(&url, ""), None);
    assert!(!discovery.refresh().await, "still unreachable: no change");

    let calc = Calc::start(HOST).await;
    discovery.track(vec![calc.url.clone()]);
    assert!(discovery.refresh().await);
    assert!(discovery.exposed(&calc.url, "").is_some());
    discovery.track(Vec::new());
    assert_eq!(
        discovery.exposed(&calc.url, ""),
        None,
        "untracked is forgotten"
    );
    assert!(
        !discovery.refresh().await,
        "nothing tracked, nothing changes"
    );
    calc.stop().await;
}
