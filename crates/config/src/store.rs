//! The process-wide configuration: swapped atomically, read without locks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::Config;

/// Holds the configuration in force and tells subscribers when it changes.
///
/// Readers take one snapshot per unit of work with [`ConfigStore::load`]; only the
/// writer (the file watcher or the controller) calls [`ConfigStore::store`].
#[derive(Debug)]
pub struct ConfigStore {
    current: ArcSwap<Config>,
    changes: watch::Sender<Arc<Config>>,
    in_sync: AtomicBool,
    generation: AtomicU64,
    rejections: AtomicU64,
    /// Why the last rejected source was rejected (read by the console, never per request).
    last_rejection: Mutex<Option<String>>,
}

impl ConfigStore {
    /// A store serving `initial`, in sync, at generation 0.
    pub fn new(initial: Config) -> Arc<Self> {
        let initial = Arc::new(initial);
        Arc::new(Self {
            current: ArcSwap::new(Arc::clone(&initial)),
            changes: watch::Sender::new(initial),
            in_sync: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            rejections: AtomicU64::new(0),
            last_rejection: Mutex::new(None),
        })
    }

    /// The configuration in force now. Lock-free; hold the `Arc` for the unit of work.
    pub fn load(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// Puts `config` in force, marks the store in sync, bumps the generation and
    /// notifies subscribers.
    pub fn store(&self, config: Config) {
        let config = Arc::new(config);
        // `send_modify` holds the channel's write lock, so concurrent writers cannot
        // leave the `ArcSwap` and the channel holding different configs.
        self.changes.send_modify(|slot| {
            self.current.store(Arc::clone(&config));
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.in_sync.store(true, Ordering::Release);
            *slot = config;
        });
    }

    /// A receiver that wakes on every [`ConfigStore::store`]; its current value is
    /// already marked seen.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.changes.subscribe()
    }

    /// Whether the config in force matches its source. False while the watched file
    /// is invalid or unreadable (the last good config keeps serving meanwhile).
    pub fn in_sync(&self) -> bool {
        self.in_sync.load(Ordering::Acquire)
    }

    /// Records whether the source matches the config in force, without swapping.
    pub fn set_in_sync(&self, in_sync: bool) {
        self.in_sync.store(in_sync, Ordering::Release);
    }

    /// Records that the source was rejected, and why; the store goes out of sync.
    pub fn reject(&self, reason: String) {
        self.set_in_sync(false);
        self.rejections.fetch_add(1, Ordering::Relaxed);
        *self
            .last_rejection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(reason);
    }

    /// How many times the source was rejected since start.
    pub fn rejections(&self) -> u64 {
        self.rejections.load(Ordering::Relaxed)
    }

    /// Why the source was last rejected, if it ever was.
    pub fn last_rejection(&self) -> Option<String> {
        self.last_rejection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times a config was swapped in; 0 for the initial one.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_server(name: &str) -> Config {
        Config::from_yaml(&format!(
            "servers:\n- name: {name}\n  url: http://{name}:8080/mcp\n"
        ))
        .expect("valid config")
    }

    #[test]
    fn new_store_serves_initial_in_sync_at_generation_zero() {
        let store = ConfigStore::new(one_server("a"));
        assert!(store.load().server("a").is_some());
        assert!(store.in_sync());
        assert_eq!(store.generation(), 0);
    }

    #[tokio::test]
    async fn store_swaps_bumps_generation_and_notifies() {
        let store = ConfigStore::new(Config::empty());
        let mut rx = store.subscribe();
        let before = store.load();
        store.set_in_sync(false);

        store.store(one_server("b"));

        assert!(before.servers().is_empty(), "old snapshots stay unchanged");
        assert!(store.load().server("b").is_some());
        assert_eq!(store.generation(), 1);
        assert!(store.in_sync());
        assert!(rx.has_changed().expect("sender alive"));
        assert!(rx.borrow_and_update().server("b").is_some());

        store.store(one_server("c"));
        assert_eq!(store.generation(), 2);
        rx.changed().await.expect("sender alive");
        assert!(rx.borrow().server("c").is_some());
    }
}
