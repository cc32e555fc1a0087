//! Byte-splicing rewrites: replace one token, keep every other byte.

use crate::json_str;
use std::ops::Range;

/// Replaces the JSON string token at `range` (quotes included, as in
/// [`StrField::range`](crate::StrField)) with `new_value` encoded as a JSON
/// string; every other byte of `body` is copied unchanged.
///
/// A range that does not fit the body is clamped to it rather than panicking.
pub fn splice_str(body: &[u8], range: Range<usize>, new_value: &str) -> Vec<u8> {
    let (before, after) = split_around(body, range);
    let mut out = Vec::with_capacity(before.len() + new_value.len() + 2 + after.len());
    out.extend_from_slice(before);
    json_str::encode_into(&mut out, new_value);
    out.extend_from_slice(after);
    out
}

/// Replaces the bytes at `range` with `raw_json`, which the caller guarantees
/// is one JSON token (e.g. an id from [`Message::id_raw`](crate::Message::id_raw)
/// mapped to another id); every other byte of `body` is copied unchanged.
///
/// A range that does not fit the body is clamped to it rather than panicking.
pub fn splice_raw(body: &[u8], range: Range<usize>, raw_json: &str) -> Vec<u8> {
    let (before, after) = split_around(body, range);
    let mut out = Vec::with_capacity(before.len() + raw_json.len() + after.len());
    out.extend_from_slice(before);
    out.extend_from_slice(raw_json.as_bytes());
    out.extend_from_slice(after);
    out
}

/// Replaces each range of `body` with its JSON text, in one copy; every other byte is
/// copied unchanged. Edits may come in any order; one that overlaps an earlier one or lies
/// outside the body is dropped rather than panicking.
pub(crate) fn splice_many(body: &str, edits: &mut [(Range<usize>, String)]) -> String {
    edits.sort_by_key(|(range, _)| range.start);
    let grown: usize = edits.iter().map(|(_, text)| text.len()).sum();
    let mut out = String::with_capacity(body.len() + grown);
    let mut copied = 0;
    for (range, text) in edits.iter() {
        let (Some(before), true) = (body.get(copied..range.start), range.end <= body.len()) else {
            continue;
        };
        if range.end < range.start || !body.is_char_boundary(range.end) {
            continue;
        }
        out.push_str(before);
        out.push_str(text);
        copied = range.end;
    }
    out.push_str(body.get(copied..).unwrap_or_default());
    out
}

/// The bytes before and after `range`, with the range clamped to the body.
fn split_around(body: &[u8], range: Range<usize>) -> (&[u8], &[u8]) {
    let start = range.start.min(body.len());
    let end = range.end.clamp(start, body.len());
    let before = body.get(..start).unwrap_or_default();
    let after = body.get(end..).unwrap_or_default();
    (before, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_token() {
        let body = br#"{"name":"weather_add","x":1}"#;
        let out = splice_str(body, 8..21, "add");
        assert_eq!(out, br#"{"name":"add","x":1}"#);
    }

    #[test]
    fn splice_escapes_the_new_value() {
        let out = splice_str(br#"["x"]"#, 1..4, "a\"b\n");
        assert_eq!(out, br#"["a\"b\n"]"#);
    }

    #[test]
    fn splice_raw_inserts_verbatim() {
        let out = splice_raw(br#"{"id":7,"result":{}}"#, 6..7, r#""g-1""#);
        assert_eq!(out, br#"{"id":"g-1","result":{}}"#);
    }

    #[test]
    fn out_of_range_is_clamped_not_a_panic() {
        assert_eq!(splice_str(b"abc", 2..99, "z"), b"ab\"z\"");
        assert_eq!(splice_str(b"abc", 99..100, "z"), b"abc\"z\"");
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 2..1;
        assert_eq!(splice_raw(b"abc", reversed, "z"), b"abzc");
        assert_eq!(splice_raw(b"", 0..0, "1"), b"1");
    }

    #[test]
    fn splice_many_applies_edits_in_body_order_and_drops_bad_ones() {
        let body = r#"{"a":"x","b":"y","c":"z"}"#;
        let mut edits = vec![(21..24, "3".to_owned()), (5..8, "1".to_owned())];
        assert_eq!(splice_many(body, &mut edits), r#"{"a":1,"b":"y","c":3}"#);
        #[allow(clippy::reversed_empty_ranges)]
        let mut bad = vec![
            (5..8, "1".to_owned()),
            (6..9, "overlaps".to_owned()),
            (20..99, "outside".to_owned()),
            (13..12, "reversed".to_owned()),
        ];
        assert_eq!(splice_many(body, &mut bad), r#"{"a":1,"b":"y","c":"z"}"#);
        assert_eq!(splice_many("", &mut []), "");
    }
}
