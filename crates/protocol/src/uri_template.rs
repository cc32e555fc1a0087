//! Whether a URI is one a backend's URI template (RFC 6570) can produce.
//!
//! A tool may return a `resource_link` whose URI is the backend's own (no gateway prefix).
//! The gateway finds the server that owns such a URI by its listed resources and URI
//! templates; this module answers the template half. Matching is by shape, not by value:
//! each expression matches what its operator can expand to.
//!
//! | expression | matches |
//! | --- | --- |
//! | `{var}` (and `{a,b}`) | any run without `/`, `?` or `#` |
//! | `{+var}` | anything |
//! | `{#var}` | nothing, or `#` and anything |
//! | `{/var}` | nothing, or `/` and anything without `?` or `#` |
//! | `{.var}`, `{;var}` | nothing, or `.` (`;`) and a run without `/`, `?` or `#` |
//! | `{?var}`, `{&var}` | nothing, or `?` (`&`) and anything without `#` |
//!
//! A template without a closing `}` matches nothing. URIs longer than [`MAX_URI_BYTES`] match
//! no template, so the work per check stays bounded.

/// URIs longer than this match no template.
pub const MAX_URI_BYTES: usize = 4096;

/// Whether `uri` is a URI `template` can expand to.
pub fn matches(template: &str, uri: &str) -> bool {
    let Some(parts) = parse(template) else {
        return false;
    };
    let uri = uri.as_bytes();
    if uri.len() > MAX_URI_BYTES {
        return false;
    }
    // (part, position) pairs already explored without success: each is tried once, so the
    // work is at most parts × length × length.
    let mut failed = vec![false; (parts.len() + 1) * (uri.len() + 1)];
    matches_from(&parts, uri, 0, 0, &mut failed)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part<'a> {
    Literal(&'a [u8]),
    Expr(Op),
}

/// An expression's operator (RFC 6570, section 2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    PathParam,
    Query,
    QueryContinuation,
}

fn parse(template: &str) -> Option<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut rest = template.as_bytes();
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'{') {
            Some(0) => {
                let end = rest.iter().position(|&b| b == b'}')?;
                let op = match rest.get(1) {
                    Some(b'+') => Op::Reserved,
                    Some(b'#') => Op::Fragment,
                    Some(b'.') => Op::Label,
                    Some(b'/') => Op::Path,
                    Some(b';') => Op::PathParam,
                    Some(b'?') => Op::Query,
                    Some(b'&') => Op::QueryContinuation,
                    _ => Op::Simple,
                };
                parts.push(Part::Expr(op));
                rest = &rest[end + 1..];
            }
            Some(open) => {
                parts.push(Part::Literal(&rest[..open]));
                rest = &rest[open..];
            }
            None => {
                parts.push(Part::Literal(rest));
                rest = &[];
            }
        }
    }
    Some(parts)
}

impl Op {
    /// The byte an expansion starts with, when it is not empty.
    fn lead(self) -> Option<u8> {
        match self {
            Op::Simple | Op::Reserved => None,
            Op::Fragment => Some(b'#'),
            Op::Label => Some(b'.'),
            Op::Path => Some(b'/'),
            Op::PathParam => Some(b';'),
            Op::Query => Some(b'?'),
            Op::QueryContinuation => Some(b'&'),
        }
    }

    /// Whether an expansion may contain `b` (after its lead byte).
    fn allows(self, b: u8) -> bool {
        match self {
            Op::Reserved | Op::Fragment => true,
            Op::Path => !matches!(b, b'?' | b'#'),
            Op::Query | Op::QueryContinuation => b != b'#',
            Op::Simple | Op::Label | Op::PathParam => !matches!(b, b'/' | b'?' | b'#'),
        }
    }
}

fn matches_from(
    parts: &[Part<'_>],
    uri: &[u8],
    part: usize,
    at: usize,
    failed: &mut [bool],
) -> bool {
    let Some(p) = parts.get(part) else {
        return at == uri.len();
    };
    let key = part * (uri.len() + 1) + at;
    if failed.get(key).copied().unwrap_or(true) {
        return false;
    }
    let found = match *p {
        Part::Literal(lit) => {
            uri.get(at..).is_some_and(|rest| rest.starts_with(lit))
                && matches_from(parts, uri, part + 1, at + lit.len(), failed)
        }
        Part::Expr(op) => {
            // The empty expansion, then every longer one the operator allows.
            matches_from(parts, uri, part + 1, at, failed) || {
                let start = match op.lead() {
                    Some(lead) if uri.get(at) == Some(&lead) => Some(at + 1),
                    Some(_) => None,
                    None => Some(at),
                };
                start.is_some_and(|start| {
                    let mut end = start;
                    loop {
                        if end > at && matches_from(parts, uri, part + 1, end, failed) {
                            break true;
                        }
                        match uri.get(end) {
                            Some(&b) if op.allows(b) => end += 1,
                            _ => break false,
                        }
                    }
                })
            }
        }
    };
    if !found && let Some(slot) = failed.get_mut(key) {
        *slot = true;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_match_what_they_expand_to() {
        let cases = [
            (
                "demo://resource/dynamic/text/{resourceId}",
                "demo://resource/dynamic/text/1",
                true,
            ),
            (
                "demo://resource/dynamic/text/{resourceId}",
                "demo://resource/dynamic/text/",
                true,
            ),
            (
                "demo://resource/dynamic/text/{resourceId}",
                "demo://resource/dynamic/text/1/2",
                false,
            ),
            (
                "demo://resource/dynamic/text/{resourceId}",
                "demo://resource/dynamic/blob/1",
                false,
            ),
            ("file:///{+path}", "file:///a/b/c.txt", true),
            ("file:///{path}", "file:///a/b/c.txt", false),
            ("file://{/dirs}", "file:///a/b", true),
            ("file://{/dirs}", "file:///a/b?x", false),
            ("s://x{?q,r}", "s://x?q=1&r=2", true),
            ("s://x{?q}", "s://x", true),
            ("s://x{?q}", "s://xy", false),
            ("s://x{#f}", "s://x#frag/ment", true),
            ("s://{a}.{b}", "s://one.two", true),
            ("s://{a}{.ext}", "s://file.txt", true),
            ("plain://fixed", "plain://fixed", true),
            ("plain://fixed", "plain://fixedx", false),
            ("broken://{open", "broken://{open", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (template, uri, want) in cases {
            assert_eq!(matches(template, uri), want, "{template} ~ {uri}");
        }
    }

    #[test]
    fn long_uris_match_nothing() {
        let uri = format!("s://{}", "a".repeat(MAX_URI_BYTES));
        assert!(!matches("s://{+all}", &uri));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(template in "\\PC{0,30}", uri in "\\PC{0,60}") {
            let _ = matches(&template, &uri);
        }

        #[test]
        fn a_literal_template_matches_itself(uri in "[a-z]{1,6}://[^{}]{0,30}") {
            proptest::prop_assert!(matches(&uri, &uri));
        }
    }
}
