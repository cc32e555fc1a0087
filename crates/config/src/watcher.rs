//! Hot reload: watches the config file and swaps valid versions into the store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info};

use crate::error::ConfigError;
use crate::{Config, ConfigStore};

/// Shortest poll interval; shorter requests (including zero) are raised to it.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Keeps `store` in step with the file at `path` until `cancel` fires.
///
/// Every `interval` the whole file is read, following symlinks. When its bytes differ
/// from the bytes seen last, they are parsed and validated: a valid config is swapped
/// in (one `info!` line with the server count); an invalid or unreadable file is
/// logged with one `error!` line per distinct bad content, marks the store out of
/// sync, and the last good config keeps serving. A valid file whose config equals the
/// one in force (say, a comment edit, or a reverted mistake) is not swapped again.
///
/// Why poll the content instead of using inotify-style events: it needs no extra
/// dependency, and it cannot miss a change however the file is replaced. Editors
/// often save by writing a new file and renaming it over the old one, and Kubernetes
/// updates a mounted ConfigMap atomically by swapping symlinks (`config.yaml ->
/// ..data/config.yaml`, `..data -> ..2026_11_21_xx/`, replaced by renaming a new
/// `..data` link over the old one), so the watched inode itself never changes and
/// event watches on it go stale. Reading a small file twice a second costs nothing.
pub async fn watch_file(
    path: PathBuf,
    store: Arc<ConfigStore>,
    interval: Duration,
    cancel: CancellationToken,
) {
    let mut watcher = FileWatcher::new(path, store);
    let mut ticker = tokio::time::interval(interval.max(MIN_INTERVAL));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    debug!(path = %watcher.path.display(), ?interval, "watching configuration file");
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = async {
                ticker.tick().await;
                watcher.poll().await
            } => {}
        }
    }
    debug!(path = %watcher.path.display(), "stopped watching configuration file");
}

/// What one poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Same bytes (or the same read error) as last time: nothing to do.
    Unchanged,
    /// New valid content whose config equals the one in force: marked in sync only.
    Equivalent,
    /// New valid config swapped into the store.
    Applied,
    /// New invalid or unreadable content: logged, store marked out of sync.
    Rejected,
}

/// What the last poll saw, to act only on change.
enum Seen {
    Bytes(Vec<u8>),
    /// The read error's text: a different error is a different bad content.
    Unreadable(String),
}

/// The polling state machine behind [`watch_file`], separate so tests can step it.
pub(crate) struct FileWatcher {
    path: PathBuf,
    store: Arc<ConfigStore>,
    last: Option<Seen>,
}

impl FileWatcher {
    pub(crate) fn new(path: PathBuf, store: Arc<ConfigStore>) -> Self {
        Self {
            path,
            store,
            last: None,
        }
    }

    /// Reads the file once and acts on whatever changed since the previous poll.
    pub(crate) async fn poll(&mut self) -> Outcome {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => {
                if matches!(&self.last, Some(Seen::Bytes(prev)) if *prev == bytes) {
                    return Outcome::Unchanged;
                }
                let parsed = Config::from_yaml_slice(&bytes).map_err(|e| e.in_file(&self.path));
                self.last = Some(Seen::Bytes(bytes));
                match parsed {
                    Ok(config) => self.apply(config),
                    Err(error) => self.reject(&error),
                }
            }
            Err(source) => {
                let text = source.to_string();
                if matches!(&self.last, Some(Seen::Unreadable(prev)) if *prev == text) {
                    return Outcome::Unchanged;
                }
                self.last = Some(Seen::Unreadable(text));
                let error = ConfigError::Read {
                    path: self.path.clone(),
                    source,
                };
                self.reject(&error)
            }
        }
    }

    fn apply(&self, config: Config) -> Outcome {
        if *self.store.load() == config {
            if !self.store.in_sync() {
                self.store.set_in_sync(true);
                info!(
                    path = %self.path.display(),
                    "configuration file is valid again and matches the configuration in force"
                );
            }
            return Outcome::Equivalent;
        }
        let servers = config.servers().len();
        let enabled = config.enabled_servers().count();
        self.store.store(config);
        info!(
            path = %self.path.display(),
            servers,
            enabled,
            generation = self.store.generation(),
            "configuration loaded"
        );
        Outcome::Applied
    }

    fn reject(&self, error: &ConfigError) -> Outcome {
        self.store.reject(error.to_string());
        error!(
            path = %self.path.display(),
            error = %error,
            "configuration rejected; the last good configuration stays in force"
        );
        Outcome::Rejected
    }
}

#[cfg(test)]
mod tests;
