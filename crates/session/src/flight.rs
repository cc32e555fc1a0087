use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use tokio::sync::OnceCell;

/// Runs one initialisation per key at a time: concurrent callers for the same key wait for the
/// first one's result instead of starting their own. A failed initialisation is not remembered,
/// so the next caller tries again.
///
/// The router uses it to open exactly one backend session per (gateway session, backend) even
/// when many first calls arrive together. Callers should re-check their store inside `init`
/// (a caller that arrives just after a finished flight starts a new one).
pub struct SingleFlight<K, V> {
    inflight: papaya::HashMap<K, Arc<OnceCell<V>>>,
}

impl<K: Hash + Eq + Clone + Send + Sync, V: Clone + Send + Sync> SingleFlight<K, V> {
    /// No flights in progress.
    pub fn new() -> Self {
        Self {
            inflight: papaya::HashMap::new(),
        }
    }

    /// The value for `key`: from a flight already in progress, or by running `init`.
    pub async fn run<F, Fut, E>(&self, key: K, init: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = self
            .inflight
            .pin()
            .get_or_insert_with(key.clone(), || Arc::new(OnceCell::new()))
            .clone();
        let result = cell.get_or_try_init(init).await.cloned();
        // Whoever finishes first clears the flight; later callers go to the store again.
        let _ = self
            .inflight
            .pin()
            .remove_if(&key, |_, current| Arc::ptr_eq(current, &cell));
        result
    }

    /// Flights in progress (for tests and metrics).
    pub fn len(&self) -> usize {
        self.inflight.pin().len()
    }

    /// True when no flight is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq + Clone + Send + Sync, V: Clone + Send + Sync> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Callers that hold the flight for `key`: each clones its cell, the map holds one more.
    fn callers(flight: &SingleFlight<String, u32>, key: &str) -> usize {
        flight
            .inflight
            .pin()
            .get(key)
            .map_or(0, |cell| Arc::strong_count(cell) - 1)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_init() {
        const CALLERS: usize = 20;
        let flight = Arc::new(SingleFlight::<String, u32>::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..CALLERS {
            let (flight, calls) = (flight.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                flight
                    .run("k".to_string(), || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        // Finish only once every caller has joined this flight.
                        let everyone = async {
                            while callers(&flight, "k") < CALLERS {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                        };
                        tokio::time::timeout(Duration::from_secs(10), everyone)
                            .await
                            .map_err(|_| "the callers did not all join one flight")?;
                        Ok::<_, &str>(7)
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(flight.is_empty());
    }

    #[tokio::test]
    async fn failure_is_not_cached() {
        let flight = SingleFlight::<&str, u32>::new();
        assert_eq!(
            flight.run("k", || async { Err::<u32, _>("down") }).await,
            Err("down")
        );
        assert_eq!(flight.run("k", || async { Ok::<_, &str>(1) }).await, Ok(1));
    }
}
