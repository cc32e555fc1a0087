//! Gateway-owned pagination cursors for aggregated lists.
//!
//! Backends' own cursors never reach clients: discovery follows them to the end, and the
//! gateway pages its aggregated list with its own opaque cursor. A cursor names the list it
//! belongs to, so one list's cursor is not accepted for another.

use mcp_gateway_catalog::ListKind;

const VERSION: &str = "gw1";

/// The cursor of the page starting at `offset` of `kind`.
pub(crate) fn encode(kind: ListKind, offset: usize) -> String {
    format!("{VERSION}.{}.{offset}", tag(kind))
}

/// The offset a cursor points at, or `None` when it is not one of ours for `kind`.
pub(crate) fn decode(kind: ListKind, cursor: &str) -> Option<usize> {
    let mut parts = cursor.split('.');
    let (Some(VERSION), Some(t), Some(offset), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if t != tag(kind) || (offset.len() > 1 && offset.starts_with('0')) {
        return None;
    }
    offset.parse().ok()
}

fn tag(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Tools => "t",
        ListKind::Prompts => "p",
        ListKind::Resources => "r",
        ListKind::ResourceTemplates => "rt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_cursors() {
        for kind in ListKind::ALL {
            assert_eq!(decode(kind, &encode(kind, 42)), Some(42));
        }
        assert_eq!(decode(ListKind::Prompts, &encode(ListKind::Tools, 1)), None);
        for bad in [
            "",
            "x",
            "gw1.t",
            "gw1.t.-1",
            "gw1.t.01",
            "gw1.t.1.2",
            "gw2.t.1",
            "gw1.t.abc",
        ] {
            assert_eq!(decode(ListKind::Tools, bad), None, "{bad}");
        }
    }
}
