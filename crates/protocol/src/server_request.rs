//! Ids of server-to-client requests, made unique within a gateway session.
//!
//! Two backends may both send a request with id `0` on the same client session. The gateway
//! forwards each with the id `"<server>:<original id as JSON>"` (a JSON string), and routes the
//! client's response back to `<server>` with the original id restored byte for byte. Server
//! names cannot contain `:`, so the split is unambiguous.

/// The JSON text of the gateway id for `server`'s request whose id is `raw_id` (JSON text).
pub fn encode(server: &str, raw_id: &str) -> String {
    let mut plain = String::with_capacity(server.len() + raw_id.len() + 1);
    plain.push_str(server);
    plain.push(':');
    plain.push_str(raw_id);
    serde_json::Value::String(plain).to_string()
}

/// The server and original id (JSON text) behind a gateway id, given the id's decoded string
/// value. `None` when it is not one of ours.
pub fn decode(value: &str) -> Option<(&str, &str)> {
    let (server, raw) = value.split_once(':')?;
    if server.is_empty() {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(raw).ok()? {
        serde_json::Value::Number(_) | serde_json::Value::String(_) => Some((server, raw)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for (server, raw) in [
            ("calc", "0"),
            ("text", "\"abc\""),
            ("a.b-c_d", "12345678901234567890"),
            ("s", "\"x:y\""),
        ] {
            let json = encode(server, raw);
            let value: String = serde_json::from_str(&json).expect("a JSON string");
            assert_eq!(decode(&value), Some((server, raw)));
        }
    }

    #[test]
    fn rejects_foreign_ids() {
        for value in [
            "",
            "7",
            "calc",
            ":0",
            "calc:",
            "calc:{}",
            "calc:[1]",
            "calc:null",
            "calc:abc",
        ] {
            assert_eq!(decode(value), None, "{value}");
        }
    }

    #[test]
    fn same_id_from_two_servers_differs() {
        assert_ne!(encode("a", "0"), encode("b", "0"));
    }
}
