use std::time::Duration;

use serde_json::json;

use super::*;
use crate::ClientDeclaration;

fn record(expires: SystemTime) -> SessionRecord {
    SessionRecord {
        protocol_version: "2025-06-18".into(),
        client: ClientDeclaration::default(),
        subject: None,
        expires,
    }
}

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

fn backend(id: &str) -> Arc<BackendSession> {
    Arc::new(BackendSession {
        session_id: Some(id.into()),
        protocol_version: "2025-06-18".into(),
        capabilities: json!({}),
        server_info: json!({}),
        instructions: None,
    })
}

#[tokio::test]
async fn lifecycle() {
    let store = MemoryStore::new();
    let later = SystemTime::now() + Duration::from_secs(60);
    store.insert("g1", record(later)).await.unwrap();
    assert!(store.get("g1").await.unwrap().is_some());
    assert!(store.get("nope").await.unwrap().is_none());

    let (_, b) = store.lookup("g1", "calc").await.unwrap().unwrap();
    assert!(b.is_none());
    store
        .set_backend("g1", "calc", backend("b1"))
        .await
        .unwrap();
    let (_, b) = store.lookup("g1", "calc").await.unwrap().unwrap();
    assert_eq!(b.unwrap().session_id.as_deref(), Some("b1"));

    // setting a backend on a missing session does not resurrect it
    store
        .set_backend("gone", "calc", backend("x"))
        .await
        .unwrap();
    assert!(store.lookup("gone", "calc").await.unwrap().is_none());

    let open = store.backends("g1").await.unwrap().unwrap();
    assert_eq!(open.len(), 1);
    assert!(store.backends("nope").await.unwrap().is_none());
    let removed = store.remove("g1").await.unwrap().unwrap();
    assert_eq!(removed.backends.len(), 1);
    assert!(store.get("g1").await.unwrap().is_none());
    assert!(store.remove("g1").await.unwrap().is_none());
}

#[tokio::test]
async fn forget_server_drops_only_that_server() {
    let store = MemoryStore::new();
    let later = SystemTime::now() + Duration::from_secs(60);
    for id in ["a", "b"] {
        store.insert(id, record(later)).await.unwrap();
        store.set_backend(id, "calc", backend("c")).await.unwrap();
        store.set_backend(id, "text", backend("t")).await.unwrap();
    }
    assert_eq!(store.forget_server("calc").await.unwrap(), 2);
    let (_, calc) = store.lookup("a", "calc").await.unwrap().unwrap();
    let (_, text) = store.lookup("a", "text").await.unwrap().unwrap();
    assert!(calc.is_none());
    assert!(text.is_some());
}

#[tokio::test]
async fn sweep_drops_expired() {
    let store = MemoryStore::new();
    let now = SystemTime::now();
    store
        .insert("old", record(now - Duration::from_secs(1)))
        .await
        .unwrap();
    store
        .insert("new", record(now + Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(
        store.get("old").await.unwrap().is_none(),
        "expired before the sweep"
    );
    let swept = store.sweep().await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].0, "old");
    assert_eq!(store.count().await.unwrap(), 1);
    assert!(store.get("new").await.unwrap().is_some());
}

#[tokio::test]
async fn refuses_sessions_over_the_limit_and_evicts_none() {
    let store = MemoryStore::with_limits(StoreLimits {
        max_sessions: 2,
        ..StoreLimits::default()
    });
    store.insert("a", record(later())).await.unwrap();
    store.insert("b", record(later())).await.unwrap();
    let full = store.insert("c", record(later())).await.unwrap_err();
    assert_eq!(full, SessionError::Full { max: 2 });
    assert!(full.to_string().contains("session limit"), "{full}");
    for id in ["a", "b"] {
        assert!(store.get(id).await.unwrap().is_some(), "{id} was evicted");
    }
    assert!(store.get("c").await.unwrap().is_none());

    store.remove("a").await.unwrap().unwrap();
    store.insert("c", record(later())).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 2);
    // Removing what is not there frees nothing.
    assert!(store.remove("a").await.unwrap().is_none());
    assert!(store.insert("d", record(later())).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_under_concurrent_inserts() {
    let store = Arc::new(MemoryStore::with_limits(StoreLimits {
        max_sessions: 50,
        ..StoreLimits::default()
    }));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.insert(&format!("s{i}"), record(later())).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 50);
    assert_eq!(store.count().await.unwrap(), 50);
    assert_eq!(store.sessions.pin().len(), 50);
}

#[tokio::test]
async fn idle_sessions_end_and_used_ones_live_on() {
    let idle_timeout = Duration::from_millis(200);
    let store = MemoryStore::with_limits(StoreLimits {
        max_sessions: 2,
        idle_timeout,
    });
    assert_eq!(store.touch_every(), Duration::from_millis(50));
    store.insert("busy", record(later())).await.unwrap();
    store.insert("idle", record(later())).await.unwrap();
    store
        .set_backend("idle", "calc", backend("b-idle"))
        .await
        .unwrap();
    let started = Instant::now();
    // Use "busy" in every way that counts for three idle timeouts.
    while started.elapsed() < idle_timeout * 3 {
        assert!(store.get("busy").await.unwrap().is_some());
        assert!(store.lookup("busy", "calc").await.unwrap().is_some());
        assert!(store.touch("busy").await.unwrap());
        assert!(store.backends("busy").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.get("idle").await.unwrap().is_none());
    assert!(store.lookup("idle", "calc").await.unwrap().is_none());
    assert!(!store.touch("idle").await.unwrap());
    assert!(store.backends("idle").await.unwrap().is_none());
    // A DELETE of an ended session finds nothing; the sweep hands its backends over.
    assert!(store.remove("idle").await.unwrap().is_none());
    assert_eq!(store.count().await.unwrap(), 2, "held until swept");
    let swept = store.sweep().await.unwrap();
    assert_eq!(swept.len(), 1);
    let (id, removed) = &swept[0];
    assert_eq!(id, "idle");
    assert_eq!(removed.backends.len(), 1);
    assert_eq!(store.count().await.unwrap(), 1);
    assert!(store.get("busy").await.unwrap().is_some());
    // Its slot is free again.
    store.insert("new", record(later())).await.unwrap();
}
