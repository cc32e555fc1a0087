use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{FileWatcher, Outcome, watch_file};
use crate::{Config, ConfigStore};

const INTERVAL: Duration = Duration::from_millis(20);
const DEADLINE: Duration = Duration::from_secs(10);

fn servers(names: &[&str]) -> String {
    let mut yaml = String::from("servers:\n");
    for name in names {
        yaml.push_str(&format!(
            "- {{name: {name}, url: 'http://{name}/mcp', toolPrefix: {name}_}}\n"
        ));
    }
    if names.is_empty() {
        yaml = String::from("servers: []\n");
    }
    yaml
}

const INVALID: &str = "servers:\n- {name: 'bad name', url: 'http://x/'}\n";

/// Replaces `path` the way editors do: write a sibling, rename it over.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write temp file");
    std::fs::rename(&tmp, path).expect("rename over");
}

fn names(config: &Config) -> Vec<String> {
    config.servers().iter().map(|s| s.name.clone()).collect()
}

/// Polls `condition` every few milliseconds until it holds or the deadline passes.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits for the next swap and returns the server names it brought.
async fn next_swap(rx: &mut tokio::sync::watch::Receiver<Arc<Config>>) -> Vec<String> {
    tokio::time::timeout(DEADLINE, rx.changed())
        .await
        .expect("a swap before the deadline")
        .expect("store alive");
    names(&rx.borrow_and_update())
}

struct Running {
    store: Arc<ConfigStore>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Running {
    fn start(path: &Path) -> Self {
        let store = ConfigStore::new(Config::load_file(path).expect("initial config"));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(watch_file(
            path.to_path_buf(),
            Arc::clone(&store),
            INTERVAL,
            cancel.clone(),
        ));
        Self {
            store,
            cancel,
            task,
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("watcher stops when cancelled")
            .expect("watcher did not panic");
    }
}

#[tokio::test]
async fn poll_acts_once_per_distinct_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, servers(&["a"])).expect("write");
    let store = ConfigStore::new(Config::load_file(&path).expect("valid"));
    let mut watcher = FileWatcher::new(path.clone(), Arc::clone(&store));

    assert_eq!(
        watcher.poll().await,
        Outcome::Equivalent,
        "first read matches the loaded config"
    );
    assert_eq!(watcher.poll().await, Outcome::Unchanged);
    assert_eq!(store.generation(), 0);

    write_atomically(&path, &format!("# a comment\n{}", servers(&["a"])));
    assert_eq!(
        watcher.poll().await,
        Outcome::Equivalent,
        "same config, new bytes: no swap"
    );
    assert_eq!(store.generation(), 0);

    write_atomically(&path, INVALID);
    assert_eq!(watcher.poll().await, Outcome::Rejected);
    assert!(!store.in_sync());
    assert_eq!(store.rejections(), 1);
    assert!(store.last_rejection().is_some(), "the reason is kept");
    assert_eq!(
        watcher.poll().await,
        Outcome::Unchanged,
        "the same bad content is reported once"
    );
    assert_eq!(store.rejections(), 1);
    write_atomically(&path, "servers: 5");
    assert_eq!(
        watcher.poll().await,
        Outcome::Rejected,
        "different bad content is reported again"
    );

    std::fs::remove_file(&path).expect("remove");
    assert_eq!(
        watcher.poll().await,
        Outcome::Rejected,
        "an unreadable file is rejected"
    );
    assert_eq!(
        watcher.poll().await,
        Outcome::Unchanged,
        "the same read error is reported once"
    );
    assert_eq!(
        names(&store.load()),
        ["a"],
        "the last good config keeps serving"
    );

    std::fs::write(&path, servers(&["a"])).expect("write");
    assert_eq!(watcher.poll().await, Outcome::Equivalent);
    assert!(
        store.in_sync(),
        "restoring the config in force brings the store back in sync"
    );
    assert_eq!(store.generation(), 0);

    std::fs::write(&path, servers(&["a", "b"])).expect("write");
    assert_eq!(watcher.poll().await, Outcome::Applied);
    assert_eq!(names(&store.load()), ["a", "b"]);
    assert_eq!(store.generation(), 1);
}

/// A file emptied in place (as an editor does before writing the new text) is seen as
/// invalid, not as "no servers"; only an explicit `servers: []` removes every server.
#[tokio::test]
async fn an_emptied_file_keeps_the_servers_and_an_empty_list_removes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, servers(&["a"])).expect("write");
    let store = ConfigStore::new(Config::load_file(&path).expect("valid"));
    let mut watcher = FileWatcher::new(path.clone(), Arc::clone(&store));

    for partial in ["", "# The gateway's servers.\n", "servers:\n"] {
        std::fs::write(&path, partial).expect("truncate");
        assert_eq!(watcher.poll().await, Outcome::Rejected, "{partial:?}");
        assert_eq!(names(&store.load()), ["a"], "{partial:?}");
        assert!(!store.in_sync());
    }

    std::fs::write(&path, servers(&[])).expect("write");
    assert_eq!(watcher.poll().await, Outcome::Applied);
    assert!(store.load().servers().is_empty());
    assert!(store.in_sync());
}

#[tokio::test]
async fn valid_edit_is_picked_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, servers(&["a"])).expect("write");
    let running = Running::start(&path);
    let mut rx = running.store.subscribe();

    write_atomically(&path, &servers(&["a", "b"]));
    assert_eq!(next_swap(&mut rx).await, ["a", "b"]);
    assert_eq!(names(&running.store.load()), ["a", "b"]);
    assert_eq!(running.store.generation(), 1);

    // An in-place rewrite (truncate + write) is picked up too.
    std::fs::write(&path, servers(&["c"])).expect("write");
    eventually("in-place edit applied", || {
        names(&running.store.load()) == ["c"]
    })
    .await;
    assert!(running.store.in_sync());
    running.stop().await;
}

#[tokio::test]
async fn invalid_edit_keeps_the_last_good_config_until_fixed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, servers(&["a"])).expect("write");
    let running = Running::start(&path);
    let mut rx = running.store.subscribe();

    write_atomically(&path, INVALID);
    eventually("store marked out of sync", || !running.store.in_sync()).await;
    assert_eq!(names(&running.store.load()), ["a"]);
    assert_eq!(running.store.generation(), 0);
    assert!(
        !rx.has_changed().expect("store alive"),
        "no swap for an invalid file"
    );

    write_atomically(&path, &servers(&["a", "fixed"]));
    assert_eq!(next_swap(&mut rx).await, ["a", "fixed"]);
    assert!(running.store.in_sync());
    running.stop().await;
}

/// Builds the layout kubelet uses for a ConfigMap volume and returns the watched path.
#[cfg(unix)]
fn kubernetes_volume(dir: &Path, version: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::symlink;
    let versioned = dir.join(version);
    std::fs::create_dir(&versioned).expect("mkdir");
    std::fs::write(versioned.join("config.yaml"), text).expect("write");
    symlink(version, dir.join("..data")).expect("..data link");
    symlink("..data/config.yaml", dir.join("config.yaml")).expect("config.yaml link");
    dir.join("config.yaml")
}

/// Publishes a new version as kubelet does: new directory, new `..data` link renamed
/// over the old one in one step, old directory removed.
#[cfg(unix)]
fn kubernetes_update(dir: &Path, old: &str, new: &str, text: &str) {
    let versioned = dir.join(new);
    std::fs::create_dir(&versioned).expect("mkdir");
    std::fs::write(versioned.join("config.yaml"), text).expect("write");
    std::os::unix::fs::symlink(new, dir.join("..data_tmp")).expect("new link");
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).expect("swap link");
    std::fs::remove_dir_all(dir.join(old)).expect("remove old version");
}

#[cfg(unix)]
#[tokio::test]
async fn kubernetes_configmap_symlink_swap_is_picked_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = kubernetes_volume(dir.path(), "..2026_11_21_10_00_00.1", &servers(&["a"]));
    let running = Running::start(&path);
    let mut rx = running.store.subscribe();
    assert_eq!(names(&running.store.load()), ["a"]);

    kubernetes_update(
        dir.path(),
        "..2026_11_21_10_00_00.1",
        "..2026_11_21_10_05_00.2",
        &servers(&["a", "b"]),
    );
    assert_eq!(next_swap(&mut rx).await, ["a", "b"]);

    kubernetes_update(
        dir.path(),
        "..2026_11_21_10_05_00.2",
        "..2026_11_21_10_10_00.3",
        INVALID,
    );
    eventually("store marked out of sync", || !running.store.in_sync()).await;
    assert_eq!(names(&running.store.load()), ["a", "b"]);

    kubernetes_update(
        dir.path(),
        "..2026_11_21_10_10_00.3",
        "..2026_11_21_10_15_00.4",
        &servers(&["c"]),
    );
    assert_eq!(next_swap(&mut rx).await, ["c"]);
    assert!(running.store.in_sync());
    running.stop().await;
}

#[tokio::test]
async fn zero_interval_does_not_panic_and_cancel_stops_the_watcher() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, servers(&["a"])).expect("write");
    let store = ConfigStore::new(Config::empty());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(watch_file(
        path,
        Arc::clone(&store),
        Duration::ZERO,
        cancel.clone(),
    ));
    eventually("initial file applied", || names(&store.load()) == ["a"]).await;
    cancel.cancel();
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("stops")
        .expect("no panic");
}
