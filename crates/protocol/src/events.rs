//! SSE event ids on a client's GET stream.
//!
//! The gateway numbers its own events `g<n>`. A `Last-Event-ID` in any other form names an
//! event of a backend's stream (a POST response the backend closed early): the router sends
//! such a resumption to that backend. Backend event ids the router has seen are made
//! `<server>~<id>`, so it can tell which backend; otherwise the session's only backend.

/// The SSE id of the gateway's `n`th event on a session's GET stream.
pub fn event_id(n: u64) -> String {
    format!("g{n}")
}

/// The event number in a gateway SSE id, if it is one.
pub fn parse_event_id(id: &str) -> Option<u64> {
    let digits = id.strip_prefix('g')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A backend's event id as the client sees it.
pub fn backend_event_id(server: &str, id: &str) -> String {
    format!("{server}~{id}")
}

/// The server and original id of a backend event id the gateway rewrote.
pub fn parse_backend_event_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('~').filter(|(server, _)| !server.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_and_backend_event_ids() {
        assert_eq!(parse_event_id(&event_id(42)), Some(42));
        for foreign in ["42", "1/0", "calc~3", "g", "g-1", "gx"] {
            assert_eq!(parse_event_id(foreign), None, "{foreign}");
        }
        assert_eq!(
            parse_backend_event_id(&backend_event_id("calc", "1/0")),
            Some(("calc", "1/0"))
        );
        assert_eq!(parse_backend_event_id("1/0"), None);
        assert_eq!(parse_backend_event_id("~1"), None);
    }
}
