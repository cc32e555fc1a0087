//! Secrets read from files, environment variables or the config, kept ready as header
//! values. A file is read again at most once per [`RELOAD_INTERVAL`], by whichever request
//! first finds it due (the others use the value they have), so a rotated Kubernetes Secret
//! or a rewritten file applies within about a second, without a restart and without a lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use mcp_gateway_config::Secret;
use reqwest::header::HeaderValue;
use tracing::{info, warn};

/// How often a secret file is read again.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Secrets by owner: a server's name, or [`CLIENT_SECRET`] for the gateway's client secret.
#[derive(Default)]
pub(crate) struct Secrets {
    entries: papaya::HashMap<String, Arc<Entry>>,
    epoch: EpochClock,
}

/// The key of the gateway's own client secret (server names are never empty).
pub(crate) const CLIENT_SECRET: &str = "";

struct Entry {
    source: Secret,
    prefix: String,
    value: ArcSwapOption<HeaderValue>,
    /// Milliseconds since the clock's start when the source was last read (0: never).
    checked: AtomicU64,
    failing: AtomicBool,
}

/// Milliseconds since the store was made; never 0 after the first tick.
struct EpochClock(Instant);

impl Default for EpochClock {
    fn default() -> Self {
        Self(Instant::now())
    }
}

impl EpochClock {
    fn now(&self) -> u64 {
        self.0.elapsed().as_millis() as u64 + 1
    }
}

impl Secrets {
    /// `prefix` followed by the secret `source` owned by `owner`, as a header value. A file is
    /// read again when due; if that fails, the last value read is kept (and the failure logged
    /// once); with none, the error says what could not be read (never its content).
    pub(crate) async fn value(
        &self,
        owner: &str,
        source: &Secret,
        prefix: &str,
    ) -> Result<HeaderValue, String> {
        let entry = self.entry(owner, source, prefix);
        let now = self.epoch.now();
        let checked = entry.checked.load(Ordering::Acquire);
        let current = entry.value.load_full();
        let due = match (&entry.source, &current) {
            (Secret::File(_), Some(_)) => now.saturating_sub(checked) >= interval_ms(),
            (_, Some(_)) => false,
            (_, None) => true,
        };
        // One request reads a due file; the rest go on with the value they have.
        let reader = due
            && (current.is_none()
                || entry
                    .checked
                    .compare_exchange(checked, now, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok());
        if reader {
            match read(&entry.source, &entry.prefix).await {
                Ok(value) => {
                    entry.checked.store(now, Ordering::Release);
                    let changed = current.as_deref() != Some(&value);
                    if changed && current.is_some() {
                        info!(owner = owner_label(owner), "credential reloaded");
                    }
                    if entry.failing.swap(false, Ordering::Relaxed) {
                        info!(owner = owner_label(owner), "credential readable again");
                    }
                    if changed {
                        let value = Arc::new(value.clone());
                        entry.value.store(Some(value));
                    }
                    return Ok(value);
                }
                Err(reason) => {
                    if !entry.failing.swap(true, Ordering::Relaxed) {
                        warn!(owner = owner_label(owner), %reason, "credential unreadable; keeping the last value read");
                    }
                    if current.is_none() {
                        return Err(reason);
                    }
                }
            }
        }
        current
            .map(|value| HeaderValue::clone(&value))
            .ok_or_else(|| "not read yet".to_owned())
    }

    /// The entry of `owner`, replaced when its source or prefix changed (a config reload).
    fn entry(&self, owner: &str, source: &Secret, prefix: &str) -> Arc<Entry> {
        let entries = self.entries.pin();
        if let Some(entry) = entries.get(owner)
            && entry.source == *source
            && entry.prefix == prefix
        {
            return entry.clone();
        }
        let fresh = Arc::new(Entry {
            source: source.clone(),
            prefix: prefix.to_owned(),
            value: ArcSwapOption::empty(),
            checked: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        });
        entries.insert(owner.to_owned(), fresh.clone());
        fresh
    }

    /// Forgets the secrets of owners not in `keep` (servers gone from the config).
    pub(crate) fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.entries
            .pin()
            .retain(|owner, _| owner == CLIENT_SECRET || keep(owner));
    }
}

fn interval_ms() -> u64 {
    RELOAD_INTERVAL.as_millis() as u64
}

fn owner_label(owner: &str) -> &str {
    if owner == CLIENT_SECRET {
        "tokenClient"
    } else {
        owner
    }
}

/// Reads `source` (surrounding whitespace dropped) into `prefix` + secret.
async fn read(source: &Secret, prefix: &str) -> Result<HeaderValue, String> {
    let (text, what) = match source {
        Secret::File(path) => {
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|e| format!("reading {}: {}", path.display(), e.kind()))?;
            let text =
                String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", path.display()))?;
            (text, format!("file {}", path.display()))
        }
        Secret::Env(name) => {
            let text = std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set or not UTF-8"))?;
            (text, format!("environment variable {name}"))
        }
        Secret::Inline(text) => (text.clone(), "the inline value".to_owned()),
    };
    let secret = text.trim();
    if secret.is_empty() {
        return Err(format!("{what} is empty"));
    }
    HeaderValue::from_str(&format!("{prefix}{secret}"))
        .map_err(|_| format!("{what} does not hold a valid header value"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[tokio::test]
    async fn file_is_reloaded_and_the_last_good_value_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "first\n").unwrap();
        let secrets = Secrets::default();
        let source = Secret::File(path.clone());
        let value = secrets.value("a", &source, "Key ").await.unwrap();
        assert_eq!(value, "Key first");
        std::fs::write(&path, "second").unwrap();
        // Not due yet: the value read stays.
        assert_eq!(
            secrets.value("a", &source, "Key ").await.unwrap(),
            "Key first"
        );
        tokio::time::sleep(RELOAD_INTERVAL).await;
        assert_eq!(
            secrets.value("a", &source, "Key ").await.unwrap(),
            "Key second"
        );
        std::fs::remove_file(&path).unwrap();
        tokio::time::sleep(RELOAD_INTERVAL).await;
        assert_eq!(
            secrets.value("a", &source, "Key ").await.unwrap(),
            "Key second"
        );
    }

    #[tokio::test]
    async fn errors_name_the_source_never_the_content() {
        let secrets = Secrets::default();
        let missing = Secret::File(PathBuf::from("/nonexistent/secret"));
        let error = secrets.value("a", &missing, "").await.unwrap_err();
        assert_eq!(error, "reading /nonexistent/secret: entity not found");
        let bad = Secret::Inline("bad\u{7}value-s3cret".into());
        let error = secrets.value("b", &bad, "").await.unwrap_err();
        assert_eq!(error, "the inline value does not hold a valid header value");
        let unset = Secret::Env("MCP_GATEWAY_TEST_UNSET_VARIABLE".into());
        assert!(
            secrets
                .value("c", &unset, "")
                .await
                .unwrap_err()
                .contains("is not set")
        );
    }

    #[tokio::test]
    async fn a_changed_source_replaces_the_entry() {
        let secrets = Secrets::default();
        let one = Secret::Inline("one".into());
        let two = Secret::Inline("two".into());
        assert_eq!(secrets.value("a", &one, "").await.unwrap(), "one");
        assert_eq!(secrets.value("a", &two, "").await.unwrap(), "two");
        assert_eq!(
            secrets.value("a", &two, "Bearer ").await.unwrap(),
            "Bearer two"
        );
    }
}
