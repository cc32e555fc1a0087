//! Counters keyed by one name from the config or catalog (a server, a list) and one fixed
//! result, in a lock-free map: bounded by what the operator configured, never by clients.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

use papaya::Equivalent;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

#[derive(Debug, Hash, PartialEq, Eq)]
struct Key(Box<str>, &'static str);

#[derive(Hash)]
struct Ref<'a>(&'a str, &'static str);

impl Equivalent<Key> for Ref<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        *key.0 == *self.0 && key.1 == self.1
    }
}

/// A counter family with a name label and, optionally, a result label.
#[derive(Debug)]
pub struct Labeled {
    name: &'static str,
    help: &'static str,
    label: &'static str,
    result: Option<&'static str>,
    counts: papaya::HashMap<Key, AtomicU64>,
}

impl Labeled {
    /// A family exported as `name`, labelled `label` (and `result`, when given).
    pub fn new(
        name: &'static str,
        help: &'static str,
        label: &'static str,
        result: Option<&'static str>,
    ) -> Self {
        Self {
            name,
            help,
            label,
            result,
            counts: papaya::HashMap::new(),
        }
    }

    /// Adds one for `value` (and `result`; pass `""` for a family without results).
    pub fn inc(&self, value: &str, result: &'static str) {
        let counts = self.counts.pin();
        if let Some(count) = counts.get(&Ref(value, result)) {
            count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        counts
            .get_or_insert_with(Key(value.into(), result), || AtomicU64::new(0))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The count for `value` and `result`.
    pub fn get(&self, value: &str, result: &'static str) -> u64 {
        self.counts
            .pin()
            .get(&Ref(value, result))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Collector for Labeled {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family =
            encoder.encode_descriptor(self.name, self.help, None, MetricType::Counter)?;
        for (key, count) in self.counts.pin().iter() {
            let counter = ConstCounter::new(count.load(Ordering::Relaxed));
            match self.result {
                Some(result) => {
                    let labels = [(self.label, &*key.0), (result, key.1)];
                    counter.encode(family.encode_family(&labels)?)?;
                }
                None => {
                    let labels = [(self.label, &*key.0)];
                    counter.encode(family.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}
