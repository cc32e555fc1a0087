//! Against a real `redis-server` each test starts on a free loopback port, in its own
//! directory (`scripts/ensure-redis.sh` installs it).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::SystemTime;

use serde_json::json;

use super::*;
use crate::{ClientDeclaration, SHARED_EVENTS, Signal};

/// A `redis-server` child, killed on drop.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    /// A fresh server, with an append-only file so that a restart keeps its data.
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut redis = Self {
            child: None,
            port,
            dir,
        };
        redis.spawn().await;
        redis
    }

    async fn spawn(&mut self) {
        let child = Command::new(std::env::var("REDIS_SERVER").unwrap_or("redis-server".into()))
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server not found: run scripts/ensure-redis.sh");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn store(&self, limits: StoreLimits) -> RedisStore {
        RedisStore::open(&self.url(), limits).expect("store")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn record(expires: SystemTime) -> SessionRecord {
    SessionRecord {
        protocol_version: "2025-06-18".into(),
        client: ClientDeclaration::default(),
        subject: Some("alice".into()),
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
        capabilities: json!({"tools": {}}),
        server_info: json!({"name": "calc"}),
        instructions: None,
    })
}

fn backend_id(found: Option<(Arc<SessionRecord>, Option<Arc<BackendSession>>)>) -> Option<String> {
    found
        .expect("session is live")
        .1
        .and_then(|b| b.session_id.clone())
}

#[tokio::test]
async fn lifecycle() {
    let redis = Redis::start().await;
    let store = redis.store(StoreLimits::default());
    store.ping().await.unwrap();
    store.insert("g1", record(later())).await.unwrap();
    let got = store.get("g1").await.unwrap().expect("inserted");
    assert_eq!(got.subject.as_deref(), Some("alice"));
    assert!(store.get("nope").await.unwrap().is_none());
    assert_eq!(backend_id(store.lookup("g1", "calc").await.unwrap()), None);

    store
        .set_backend("g1", "calc", backend("b1"))
        .await
        .unwrap();
    assert_eq!(
        backend_id(store.lookup("g1", "calc").await.unwrap()).as_deref(),
        Some("b1")
    );
    assert_eq!(backend_id(store.lookup("g1", "other").await.unwrap()), None);
    store
        .set_backend("g1", "other", backend("b2"))
        .await
        .unwrap();
    let mut all = store.backends("g1").await.unwrap().unwrap();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        all.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["calc", "other"]
    );

    let old = store.remove_backend("g1", "calc").await.unwrap();
    assert_eq!(
        old.and_then(|b| b.session_id.clone()).as_deref(),
        Some("b1")
    );
    assert!(store.remove_backend("g1", "calc").await.unwrap().is_none());
    assert_eq!(store.count().await.unwrap(), 1);

    let removed = store.remove("g1").await.unwrap().expect("was live");
    assert_eq!(removed.backends.len(), 1);
    assert!(store.get("g1").await.unwrap().is_none());
    assert!(store.remove("g1").await.unwrap().is_none());
    assert_eq!(store.count().await.unwrap(), 0);
    // A backend set on an ended session is not kept.
    store
        .set_backend("g1", "calc", backend("b3"))
        .await
        .unwrap();
    assert!(store.backends("g1").await.unwrap().is_none());
}

/// Two replicas on one Redis: what one writes, the other routes by, and what one ends is
/// ended for both, although each caches records.
#[tokio::test]
async fn replicas_share_sessions_and_backend_sessions() {
    let redis = Redis::start().await;
    let (a, b) = (
        redis.store(StoreLimits::default()),
        redis.store(StoreLimits::default()),
    );
    a.insert("g1", record(later())).await.unwrap();
    a.insert("g2", record(later())).await.unwrap();
    assert_eq!(backend_id(b.lookup("g1", "calc").await.unwrap()), None);
    b.set_backend("g1", "calc", backend("b1")).await.unwrap();
    b.set_backend("g2", "calc", backend("b2")).await.unwrap();
    assert_eq!(
        backend_id(a.lookup("g1", "calc").await.unwrap()).as_deref(),
        Some("b1")
    );

    // A backend session replaced on one replica is the one the other routes to.
    a.set_backend("g1", "calc", backend("b1-new"))
        .await
        .unwrap();
    assert_eq!(
        backend_id(b.lookup("g1", "calc").await.unwrap()).as_deref(),
        Some("b1-new")
    );
    // A backend restart seen by one replica drops the mappings for all.
    assert_eq!(a.forget_server("calc").await.unwrap(), 2);
    assert_eq!(backend_id(b.lookup("g1", "calc").await.unwrap()), None);
    assert_eq!(backend_id(b.lookup("g2", "calc").await.unwrap()), None);

    // DELETE on one replica ends the session on the other, whose record is cached.
    assert!(b.get("g2").await.unwrap().is_some());
    assert!(a.remove("g2").await.unwrap().is_some());
    assert!(b.get("g2").await.unwrap().is_none());
    assert!(b.lookup("g2", "calc").await.unwrap().is_none());
}

#[tokio::test]
async fn the_session_limit_is_for_the_whole_store() {
    let redis = Redis::start().await;
    let limits = StoreLimits {
        max_sessions: 2,
        ..StoreLimits::default()
    };
    let (a, b) = (redis.store(limits), redis.store(limits));
    a.insert("g1", record(later())).await.unwrap();
    b.insert("g2", record(later())).await.unwrap();
    assert_eq!(
        a.insert("g3", record(later())).await,
        Err(SessionError::Full { max: 2 })
    );
    assert!(b.get("g1").await.unwrap().is_some(), "none is evicted");
    b.remove("g1").await.unwrap();
    a.insert("g3", record(later())).await.unwrap();
}

/// Idle sessions end (by Redis's clock) on every replica; sessions in use live on; exactly
/// one replica's sweep gets an ended session's backends to end.
#[tokio::test]
async fn idle_and_expired_sessions_end_and_one_sweep_takes_each() {
    let redis = Redis::start().await;
    let limits = StoreLimits {
        max_sessions: 100,
        idle_timeout: Duration::from_millis(1200),
    };
    let (a, b) = (redis.store(limits), redis.store(limits));
    a.insert("idle", record(later())).await.unwrap();
    a.insert("used", record(later())).await.unwrap();
    a.insert(
        "short",
        record(SystemTime::now() + Duration::from_millis(300)),
    )
    .await
    .unwrap();
    a.set_backend("idle", "calc", backend("b1")).await.unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2000) {
        assert!(b.touch("used").await.unwrap(), "a used session lives on");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(a.get("idle").await.unwrap().is_none());
    assert!(b.lookup("idle", "calc").await.unwrap().is_none());
    assert!(b.get("short").await.unwrap().is_none(), "expired");
    assert!(a.get("used").await.unwrap().is_some());

    let (swept_a, swept_b) = tokio::join!(a.sweep(), b.sweep());
    let mut swept: Vec<_> = swept_a
        .unwrap()
        .into_iter()
        .chain(swept_b.unwrap())
        .collect();
    swept.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        swept.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["idle", "short"]
    );
    assert_eq!(swept[0].1.backends.len(), 1);
    assert_eq!(a.count().await.unwrap(), 1);
}

/// Redis down: every operation is a store error, soon and without a panic; Redis back
/// (with its append-only file): the same sessions answer again.
#[tokio::test]
async fn redis_down_is_an_error_and_its_return_resumes_service() {
    let mut redis = Redis::start().await;
    let store = redis.store(StoreLimits::default());
    store.insert("g1", record(later())).await.unwrap();
    store
        .set_backend("g1", "calc", backend("b1"))
        .await
        .unwrap();
    redis.stop();

    let started = Instant::now();
    for _ in 0..3 {
        let err = store.lookup("g1", "calc").await.unwrap_err();
        assert!(matches!(err, SessionError::Store(_)), "{err:?}");
        assert!(matches!(
            store.insert("g2", record(later())).await,
            Err(SessionError::Store(_))
        ));
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "errors took {:?}",
        started.elapsed()
    );

    redis.spawn().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        match store.lookup("g1", "calc").await {
            Ok(found) => break found,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("Redis is back but the store still fails: {e}"),
        }
    };
    assert_eq!(backend_id(found).as_deref(), Some("b1"));
}

#[tokio::test]
async fn a_bad_url_is_refused_with_the_password_hidden() {
    let Err(err) = RedisStore::open("http://user:secret@host/", StoreLimits::default()) else {
        panic!("an http URL is not a Redis URL");
    };
    let text = err.to_string();
    assert!(!text.contains("secret"), "{text}");
}

#[tokio::test]
async fn the_shared_outbox_numbers_keeps_a_window_and_resumes_across_replicas() {
    let redis = Redis::start().await;
    let (a, b) = (
        redis.store(StoreLimits::default()),
        redis.store(StoreLimits::default()),
    );
    let (a, b) = (
        a.shared_outbox().expect("shared"),
        b.shared_outbox().expect("shared"),
    );
    let mut signals = b.signals();
    // The subscription is up once it says so.
    assert_eq!(signals.recv().await.ok(), Some(Signal::Resync));

    assert_eq!(a.resume("s", 0).await, Ok(0));
    assert_eq!(a.push("s", "m1", None).await, Ok(1));
    assert_eq!(
        signals.recv().await.ok(),
        Some(Signal::Wake("s".into())),
        "the other replica is woken"
    );
    assert_eq!(b.push("s", "m2", Some(("calc\nb1", "7"))).await, Ok(2));
    let read = b.read("s", 1).await.expect("read");
    assert_eq!(
        read,
        [(2, "m2".to_owned())],
        "another replica reads after 1"
    );
    assert_eq!(
        a.backend_position("s", "calc\nb1").await,
        Ok(Some("7".to_owned())),
        "where the backend's stream was, for whoever relays it next"
    );
    assert_eq!(a.backend_position("s", "calc\nb2").await, Ok(None));

    // A client that saw ids this outbox never issued: new ones come after them.
    assert_eq!(b.resume("s", 40).await, Ok(40));
    assert_eq!(a.push("s", "m41", None).await, Ok(41));
    assert_eq!(
        a.resume("s", 0).await,
        Ok(41),
        "resume never lowers the count"
    );

    for i in 0..(SHARED_EVENTS + 10) {
        a.push("t", &format!("m{i}"), None).await.expect("push");
    }
    let kept = a.read("t", 0).await.expect("read");
    assert_eq!(kept.len(), SHARED_EVENTS);
    assert_eq!(kept[0].0, 11, "the oldest go first");

    // One replica at a time relays a session's backend streams.
    let ttl = Duration::from_secs(5);
    assert_eq!(a.lease("s", ttl).await, Ok(true));
    assert_eq!(b.lease("s", ttl).await, Ok(false));
    assert_eq!(a.lease("s", ttl).await, Ok(true), "renewed");
    b.release("s").await.expect("not held: nothing to do");
    assert_eq!(b.lease("s", ttl).await, Ok(false));
    a.release("s").await.expect("release");
    assert_eq!(b.lease("s", ttl).await, Ok(true));

    a.remove("s").await.expect("remove");
    assert_eq!(b.read("s", 0).await, Ok(Vec::new()));
    assert_eq!(b.resume("s", 0).await, Ok(0));
    assert_eq!(b.backend_position("s", "calc\nb1").await, Ok(None));
}

#[tokio::test]
async fn the_shared_outbox_fails_cleanly_while_redis_is_down_and_resumes() {
    let mut redis = Redis::start().await;
    let shared = redis
        .store(StoreLimits::default())
        .shared_outbox()
        .expect("shared");
    assert_eq!(shared.push("s", "m1", None).await, Ok(1));
    redis.stop();
    assert!(matches!(
        shared.push("s", "m2", None).await,
        Err(SessionError::Store(_))
    ));
    assert!(matches!(
        shared.read("s", 0).await,
        Err(SessionError::Store(_))
    ));
    redis.spawn().await;
    let mut pushed = Err(SessionError::Store(String::new()));
    for _ in 0..50 {
        pushed = shared.push("s", "m2", None).await;
        if pushed.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pushed, Ok(2), "the count survived the restart (AOF)");
}

#[tokio::test]
async fn a_quiet_open_stream_keeps_its_outbox_and_ids_past_1e14_work() {
    let redis = Redis::start().await;
    let outbox = redis
        .store(StoreLimits::default())
        .shared_outbox()
        .expect("shared");
    let raw = redis::Client::open(redis.url()).expect("client");
    let mut raw = raw
        .get_multiplexed_async_connection()
        .await
        .expect("connect");

    assert_eq!(outbox.push("q", "m1", None).await, Ok(1));
    // Most of the outbox's life goes by with nothing to send; the open stream keeps reading.
    for key in ["o:q", "on:q"] {
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(format!("{PREFIX}{key}"))
            .arg(300)
            .query_async(&mut raw)
            .await
            .expect("pexpire");
    }
    assert_eq!(outbox.read("q", 1).await, Ok(Vec::new()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        outbox.push("q", "m2", None).await,
        Ok(2),
        "numbering went on: the stream's read kept the counter"
    );
    assert_eq!(outbox.read("q", 1).await, Ok(vec![(2, "m2".to_owned())]));

    // A client may resume with any id up to MAX_EVENT_NUMBER; Redis' Lua writes numbers
    // from 1e14 on as 1e+14 unless told otherwise.
    let big = 100_000_000_000_000;
    assert_eq!(outbox.resume("big", big).await, Ok(big));
    assert_eq!(outbox.push("big", "m", None).await, Ok(big + 1));
    assert_eq!(
        outbox.read("big", big).await,
        Ok(vec![(big + 1, "m".to_owned())])
    );
}

#[tokio::test]
async fn one_replica_lists_a_server_and_the_others_read_its_listing() {
    let mut redis = Redis::start().await;
    let (a, b) = (
        redis.store(StoreLimits::default()),
        redis.store(StoreLimits::default()),
    );
    let (a, b) = (a.shared_listings().unwrap(), b.shared_listings().unwrap());
    let lease = Duration::from_millis(300);
    let keep = Duration::from_secs(60);
    assert!(a.lead("calc", lease).await.unwrap());
    assert!(!b.lead("calc", lease).await.unwrap());
    // Leases are per server.
    assert!(b.lead("text", lease).await.unwrap());
    assert!(a.lead("calc", lease).await.unwrap(), "the holder renews");

    assert_eq!(
        b.fetch("calc", "").await.unwrap(),
        None,
        "nothing published"
    );
    a.publish("calc", "v1", "listing 1", keep).await.unwrap();
    assert_eq!(
        b.fetch("calc", "").await.unwrap(),
        Some(("v1".into(), "listing 1".into()))
    );
    assert_eq!(b.fetch("calc", "v1").await.unwrap(), None, "unchanged");
    assert!(a.keep("calc", keep).await.unwrap());
    assert!(!a.keep("nothing", keep).await.unwrap(), "nothing to keep");

    // A holder that dies keeps the lease until it expires; one that stops gives it up.
    assert!(!b.lead("calc", lease).await.unwrap());
    tokio::time::sleep(lease * 2).await;
    assert!(
        b.lead("calc", lease).await.unwrap(),
        "taken over after expiry"
    );
    assert!(!a.lead("calc", lease).await.unwrap());
    a.resign("calc").await.unwrap();
    assert!(
        !a.lead("calc", lease).await.unwrap(),
        "only the holder resigns"
    );
    b.resign("calc").await.unwrap();
    assert!(
        a.lead("calc", lease).await.unwrap(),
        "free at once after resigning"
    );

    redis.stop();
    assert!(
        a.lead("calc", lease).await.is_err(),
        "Redis down is an error"
    );
}
