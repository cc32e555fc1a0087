//! Optional pagination of the servers' own lists (`tools/list`, `prompts/list`,
//! `resources/list`, `resources/templates/list`).
//!
//! Off by default. With a page size the servers answer in pages and a
//! `nextCursor`, so that the gateway's discovery can be seen following
//! upstream cursors to the end. A cursor is the offset of the page it starts,
//! as text (`"p3"`); anything else is an invalid-params error, as the spec asks.

use std::num::NonZeroUsize;

use rmcp::{ErrorData, model::PaginatedRequestParams};

/// Marks our cursors, so that a bare number from elsewhere is not mistaken for one.
const CURSOR_PREFIX: char = 'p';

/// How a server splits its lists into pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pager {
    size: Option<NonZeroUsize>,
}

/// One page of a list and the cursor of the next page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl Pager {
    /// Pages of `size` items, or whole lists when `size` is `None`.
    pub fn new(size: Option<NonZeroUsize>) -> Self {
        Self { size }
    }

    /// The page of `items` that `request`'s cursor points at (the first without one).
    pub fn page<T>(
        &self,
        mut items: Vec<T>,
        request: Option<&PaginatedRequestParams>,
    ) -> Result<Page<T>, ErrorData> {
        let cursor = request.and_then(|request| request.cursor.as_deref());
        let offset = match cursor {
            None => 0,
            Some(cursor) => decode(cursor)
                .filter(|offset| *offset < items.len())
                .ok_or_else(|| {
                    ErrorData::invalid_params(format!("invalid cursor {cursor:?}"), None)
                })?,
        };
        let end = match self.size {
            Some(size) => offset.saturating_add(size.get()).min(items.len()),
            None => items.len(),
        };
        let next_cursor = (end < items.len()).then(|| encode(end));
        items.truncate(end);
        let items = items.split_off(offset);
        Ok(Page { items, next_cursor })
    }
}

fn encode(offset: usize) -> String {
    format!("{CURSOR_PREFIX}{offset}")
}

fn decode(cursor: &str) -> Option<usize> {
    let digits = cursor.strip_prefix(CURSOR_PREFIX)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cursor: &str) -> PaginatedRequestParams {
        PaginatedRequestParams::default().with_cursor(Some(cursor.to_owned()))
    }

    fn pager(size: usize) -> Pager {
        Pager::new(NonZeroUsize::new(size))
    }

    #[test]
    fn without_a_size_lists_are_whole() {
        let page = Pager::default().page(vec![1, 2, 3], None).expect("page");
        assert_eq!(page.items, [1, 2, 3]);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn walks_every_item_exactly_once() {
        for size in 1..=6 {
            let items: Vec<u32> = (0..5).collect();
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let params = cursor.as_deref().map(request);
                let page = pager(size)
                    .page(items.clone(), params.as_ref())
                    .expect("page");
                assert!(!page.items.is_empty() && page.items.len() <= size);
                seen.extend(page.items);
                cursor = page.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(seen, items, "page size {size}");
        }
    }

    #[test]
    fn rejects_foreign_and_stale_cursors() {
        for bad in ["", "p", "3", "p-1", "p01", "p1.5", "p99", "x1", "p 1"] {
            let error = pager(2)
                .page(vec![1, 2, 3], Some(&request(bad)))
                .expect_err(bad);
            assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{bad}");
        }
        assert!(pager(2).page(vec![1, 2, 3], Some(&request("p2"))).is_ok());
    }

    #[test]
    fn empty_lists_have_one_empty_page() {
        let page = pager(2).page(Vec::<u8>::new(), None).expect("page");
        assert!(page.items.is_empty());
        assert_eq!(page.next_cursor, None);
    }
}
