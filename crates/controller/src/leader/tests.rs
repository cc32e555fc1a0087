use super::*;
use crate::verifier::{Scenario, Step, finish, lease, mock_client};

fn elector(client: Client) -> LeaderElector {
    LeaderElector::new(client, LeaseSettings::new("mcp-system", "pod-a"))
}

fn replace(holder: Option<&str>, transitions: i64) -> Step {
    Step::ReplaceLease {
        holder: holder.map(str::to_owned),
        transitions,
        code: 200,
    }
}

#[tokio::test]
async fn creates_the_lease_when_there_is_none() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        Step::GetLease(None),
        Step::CreateLease {
            holder: "pod-a".to_owned(),
            code: 201,
        },
    ]));
    let mut candidate = elector(client);
    assert!(candidate.try_acquire_or_renew().await.expect("attempt"));
    finish(mocked).await;
}

#[tokio::test]
async fn losing_the_create_race_is_not_leading() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        Step::GetLease(None),
        Step::CreateLease {
            holder: "pod-a".to_owned(),
            code: 409,
        },
    ]));
    let mut candidate = elector(client);
    assert!(!candidate.try_acquire_or_renew().await.expect("attempt"));
    finish(mocked).await;
}

#[tokio::test]
async fn renews_its_own_lease_keeping_the_transition_count() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        Step::GetLease(Some(lease(Some("pod-a"), "5", 2))),
        replace(Some("pod-a"), 2),
    ]));
    let mut candidate = elector(client);
    assert!(candidate.try_acquire_or_renew().await.expect("attempt"));
    finish(mocked).await;
}

#[tokio::test]
async fn takes_a_released_lease_at_once() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        Step::GetLease(Some(lease(None, "3", 1))),
        replace(Some("pod-a"), 2),
    ]));
    let mut candidate = elector(client);
    assert!(candidate.try_acquire_or_renew().await.expect("attempt"));
    finish(mocked).await;
}

#[tokio::test(start_paused = true)]
async fn waits_a_full_lease_duration_of_silence_before_taking_over() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        // Seen first: held by pod-b.
        Step::GetLease(Some(lease(Some("pod-b"), "7", 3))),
        // 10 s later pod-b has renewed (new resourceVersion): the clock restarts.
        Step::GetLease(Some(lease(Some("pod-b"), "8", 3))),
        // 10 s later: unchanged for only 10 s.
        Step::GetLease(Some(lease(Some("pod-b"), "8", 3))),
        // 6 s later: unchanged for 16 s > 15 s: take over.
        Step::GetLease(Some(lease(Some("pod-b"), "8", 3))),
        replace(Some("pod-a"), 4),
    ]));
    let mut candidate = elector(client);
    assert!(!candidate.try_acquire_or_renew().await.expect("attempt 1"));
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(!candidate.try_acquire_or_renew().await.expect("attempt 2"));
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(!candidate.try_acquire_or_renew().await.expect("attempt 3"));
    tokio::time::advance(Duration::from_secs(6)).await;
    assert!(candidate.try_acquire_or_renew().await.expect("attempt 4"));
    finish(mocked).await;
}

#[tokio::test]
async fn a_conflicting_takeover_is_not_leading() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        Step::GetLease(Some(lease(None, "3", 1))),
        Step::ReplaceLease {
            holder: Some("pod-a".to_owned()),
            transitions: 2,
            code: 409,
        },
    ]));
    let mut candidate = elector(client);
    assert!(!candidate.try_acquire_or_renew().await.expect("attempt"));
    finish(mocked).await;
}

#[tokio::test]
async fn api_errors_are_reported() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        Step::GetLease(None),
        Step::CreateLease {
            holder: "pod-a".to_owned(),
            code: 500,
        },
    ]));
    let mut candidate = elector(client);
    let err = candidate.try_acquire_or_renew().await.expect_err("500");
    assert_eq!(err.metric_label(), "lease");
    finish(mocked).await;
}

#[tokio::test]
async fn run_leads_then_releases_on_shutdown() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![
        Step::GetLease(None),
        Step::CreateLease {
            holder: "pod-a".to_owned(),
            code: 201,
        },
        replace(None, 0),
    ]));
    let (tx, mut rx) = watch::channel(false);
    let cancel = CancellationToken::new();
    let campaign = tokio::spawn(elector(client).run(tx, cancel.clone()));
    tokio::time::timeout(Duration::from_secs(1), rx.wait_for(|leading| *leading))
        .await
        .expect("became leader in time")
        .expect("sender alive");
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(1), campaign)
        .await
        .expect("stopped in time")
        .expect("no panic");
    assert!(!*rx.borrow());
    finish(mocked).await;
}

#[tokio::test]
async fn release_without_holding_makes_no_call() {
    let (client, verifier) = mock_client();
    let mocked = verifier.run(Scenario::Steps(vec![]));
    elector(client).release().await.expect("nothing to release");
    finish(mocked).await;
}
