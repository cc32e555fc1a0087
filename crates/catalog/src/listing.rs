use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

/// One aggregated list, serialised once when the catalog is built.
#[derive(Debug)]
pub struct Listing {
    items: Vec<Item>,
    /// The whole list as a JSON array; shared, never copied, by every answer that sends it.
    joined: Bytes,
}

/// One item of a listing: its JSON text and who offers it under which exposed name or URI
/// (what policies filter on). Shared between the full list and its filtered views.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    json: Arc<str>,
    server: Arc<str>,
    exposed: Arc<str>,
}

impl Item {
    pub(crate) fn new(json: &Value, server: Arc<str>, exposed: &str) -> Self {
        Self {
            json: Arc::from(json.to_string()),
            server,
            exposed: Arc::from(exposed),
        }
    }
}

impl Default for Listing {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            joined: Bytes::from_static(b"[]"),
        }
    }
}

/// A page of a listing: a JSON array and the offset of the next page, if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// The items as a JSON array (UTF-8).
    pub json: Bytes,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<usize>,
}

impl Listing {
    /// A listing of bare values (tests): no server, each value's text as its name.
    #[cfg(test)]
    pub(crate) fn new(items: &[Value]) -> Self {
        let items = items
            .iter()
            .map(|v| Item::new(v, Arc::from(""), &v.to_string()))
            .collect();
        Self::from_items(items)
    }

    pub(crate) fn from_items(items: Vec<Item>) -> Self {
        let joined = Bytes::from(join(&items));
        Self { items, joined }
    }

    /// The items `keep(server, exposed)` keeps, in order, as a listing of their own.
    pub(crate) fn filtered(&self, mut keep: impl FnMut(&str, &str) -> bool) -> Self {
        let items = self
            .items
            .iter()
            .filter(|item| keep(&item.server, &item.exposed))
            .cloned()
            .collect();
        Self::from_items(items)
    }

    /// Each item's server, exposed name (or URI) and JSON text, in order (the console).
    pub fn items(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.items
            .iter()
            .map(|item| (&*item.server, &*item.exposed, &*item.json))
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The whole list as a JSON array, as text (tests; the broker serves the bytes).
    #[cfg(test)]
    pub(crate) fn json(&self) -> &str {
        // Built from a `String`, so always UTF-8.
        std::str::from_utf8(&self.joined).unwrap_or("[]")
    }

    /// The whole list as a JSON array, as shared bytes.
    pub fn json_bytes(&self) -> &Bytes {
        &self.joined
    }

    /// Up to `limit` items from `offset` (`limit` 0 means all). The whole list is served
    /// without copying.
    pub fn page(&self, offset: usize, limit: usize) -> Page {
        if offset == 0 && (limit == 0 || limit >= self.items.len()) {
            return Page {
                json: self.joined.clone(),
                next: None,
            };
        }
        let start = offset.min(self.items.len());
        let end = if limit == 0 {
            self.items.len()
        } else {
            start.saturating_add(limit).min(self.items.len())
        };
        let next = (end < self.items.len()).then_some(end);
        Page {
            json: Bytes::from(join(&self.items[start..end])),
            next,
        }
    }
}

/// `[a,b,...]` with one allocation of the exact size.
fn join(items: &[Item]) -> String {
    let len = items.iter().map(|i| i.json.len() + 1).sum::<usize>() + 1;
    let mut out = String::with_capacity(len.max(2));
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item.json);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pages() {
        let l = Listing::new(&[json!(1), json!(2), json!(3)]);
        assert_eq!(l.json(), "[1,2,3]");
        assert_eq!(
            l.page(0, 0),
            Page {
                json: "[1,2,3]".into(),
                next: None
            }
        );
        assert_eq!(
            l.page(0, 2),
            Page {
                json: "[1,2]".into(),
                next: Some(2)
            }
        );
        assert_eq!(
            l.page(2, 2),
            Page {
                json: "[3]".into(),
                next: None
            }
        );
        assert_eq!(
            l.page(9, 2),
            Page {
                json: "[]".into(),
                next: None
            }
        );
        assert_eq!(Listing::new(&[]).json(), "[]");
    }
}
