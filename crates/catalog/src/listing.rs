use serde_json::Value;

/// One aggregated list, serialised once when the catalog is built.
#[derive(Debug, Default)]
pub struct Listing {
    items: Vec<String>,
    joined: String,
}

/// A page of a listing: a JSON array and the offset of the next page, if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Page<'a> {
    /// The items as a JSON array.
    pub json: std::borrow::Cow<'a, str>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<usize>,
}

impl Listing {
    pub(crate) fn new(items: &[Value]) -> Self {
        let items: Vec<String> = items.iter().map(Value::to_string).collect();
        let joined = format!("[{}]", items.join(","));
        Self { items, joined }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The whole list as a JSON array.
    pub fn json(&self) -> &str {
        if self.joined.is_empty() {
            "[]"
        } else {
            &self.joined
        }
    }

    /// Up to `limit` items from `offset` (`limit` 0 means all). The whole list is served
    /// without copying.
    pub fn page(&self, offset: usize, limit: usize) -> Page<'_> {
        if offset == 0 && (limit == 0 || limit >= self.items.len()) {
            return Page {
                json: self.json().into(),
                next: None,
            };
        }
        let start = offset.min(self.items.len());
        let end = if limit == 0 {
            self.items.len()
        } else {
            start.saturating_add(limit).min(self.items.len())
        };
        let json = format!("[{}]", self.items[start..end].join(","));
        let next = (end < self.items.len()).then_some(end);
        Page {
            json: json.into(),
            next,
        }
    }
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
