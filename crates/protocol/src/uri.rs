//! Reversible, per-server resource URIs.
//!
//! Two backends may both offer `file:///README.md`; the gateway must expose distinct URIs and
//! map each back to its owner without a lookup table (a client may read any URI a backend's
//! template produces, not only listed ones). The exposed URI keeps the scheme and inserts the
//! server's prefix right after `scheme:` (and after `//` when present):
//!
//! | prefix | backend URI | exposed URI |
//! | --- | --- | --- |
//! | `calc_` | `file:///a.txt` | `file://calc_/a.txt` |
//! | `calc_` | `ui://widget/x` | `ui://calc_widget/x` |
//! | `calc_` | `urn:isbn:1` | `urn:calc_isbn:1` |
//! | `""` | anything | unchanged |
//! | any | `no-scheme` (not a URI) | unchanged, and not routable by prefix |
//!
//! Keeping the scheme matters: clients treat `ui://` resources (MCP Apps) and others by scheme.
//! Because configured prefixes never start one another, at most one server matches an exposed
//! URI, so the mapping is unambiguous. Templates (`file:///{path}`) map the same way.

/// The URI the gateway exposes for a backend's `uri`.
pub fn expose_uri(prefix: &str, uri: &str) -> String {
    let Some((head, rest)) = split(uri) else {
        return uri.to_owned();
    };
    let mut out = String::with_capacity(uri.len() + prefix.len());
    out.push_str(head);
    out.push_str(prefix);
    out.push_str(rest);
    out
}

/// The backend's URI for an exposed URI, or `None` when it does not carry `prefix`.
pub fn strip_uri(prefix: &str, exposed: &str) -> Option<String> {
    if prefix.is_empty() {
        return Some(exposed.to_owned());
    }
    let (head, rest) = split(exposed)?;
    let rest = rest.strip_prefix(prefix)?;
    let mut out = String::with_capacity(exposed.len() - prefix.len());
    out.push_str(head);
    out.push_str(rest);
    Some(out)
}

/// Splits after `scheme:` and an optional `//`; `None` without a valid scheme.
fn split(uri: &str) -> Option<(&str, &str)> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    let valid = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid {
        return None;
    }
    let after = colon + 1;
    let head_end = if uri[after..].starts_with("//") {
        after + 2
    } else {
        after
    };
    Some(uri.split_at(head_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_and_strips() {
        let cases = [
            ("calc_", "file:///a.txt", "file://calc_/a.txt"),
            ("calc_", "ui://widget/x", "ui://calc_widget/x"),
            ("calc_", "urn:isbn:1", "urn:calc_isbn:1"),
            (
                "calc_",
                "test://static/resource/1",
                "test://calc_static/resource/1",
            ),
            ("calc_", "file:///{path}", "file://calc_/{path}"),
            ("", "file:///a", "file:///a"),
        ];
        for (prefix, uri, exposed) in cases {
            assert_eq!(expose_uri(prefix, uri), exposed, "{uri}");
            assert_eq!(
                strip_uri(prefix, exposed).as_deref(),
                Some(uri),
                "{exposed}"
            );
        }
    }

    #[test]
    fn foreign_uris_do_not_strip() {
        assert_eq!(strip_uri("calc_", "file:///a.txt"), None);
        assert_eq!(strip_uri("calc_", "ui://text_widget"), None);
    }

    #[test]
    fn non_uris_are_left_alone() {
        for s in ["no-scheme", "1bad:scheme", ":", ""] {
            assert_eq!(expose_uri("calc_", s), s);
            assert_eq!(strip_uri("calc_", s), None);
            assert_eq!(strip_uri("", s).as_deref(), Some(s));
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trips(prefix in "[A-Za-z0-9_.-]{0,8}", scheme in "[a-z][a-z0-9+.-]{0,6}", sep in "(//)?", rest in "\\PC{0,40}") {
            let uri = format!("{scheme}:{sep}{rest}");
            let exposed = expose_uri(&prefix, &uri);
            proptest::prop_assert_eq!(strip_uri(&prefix, &exposed), Some(uri));
        }

        #[test]
        fn never_panics(prefix in "[A-Za-z0-9_.-]{0,8}", s in "\\PC{0,40}") {
            let _ = strip_uri(&prefix, &expose_uri(&prefix, &s));
        }
    }
}
