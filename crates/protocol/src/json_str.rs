//! JSON string tokens: decoding borrowed when possible, encoding, and small
//! facts about raw JSON text.

use std::borrow::Cow;

/// The four JSON whitespace characters.
pub(crate) const WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Decodes a JSON string token (quotes included) that serde_json has already
/// validated. Borrows when the token has no escapes; `None` when the token is
/// not a string or does not decode (a lone UTF-16 surrogate escape).
pub(crate) fn decode(token: &str) -> Option<Cow<'_, str>> {
    let inner = token.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(token).ok().map(Cow::Owned)
}

/// Appends `value` to `out` as a JSON string token, quotes included.
pub(crate) fn encode_into(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut clean_from = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(bytes.get(clean_from..at).unwrap_or_default());
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        } else {
            out.extend_from_slice(escape);
        }
        clean_from = at + 1;
    }
    out.extend_from_slice(bytes.get(clean_from..).unwrap_or_default());
    out.push(b'"');
}

const HEX: [u8; 16] = *b"0123456789abcdef";

/// What kind of JSON value a validated raw token is, for error messages.
pub(crate) fn type_name(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') if is_integer(raw) => "an integer",
        Some(b'-' | b'0'..=b'9') => "a non-integer number",
        _ => "not a JSON value",
    }
}

/// Whether a validated JSON number token is an integer (no fraction, no exponent).
pub(crate) fn is_integer(raw: &str) -> bool {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The byte range of `part` inside `whole`, when `part` is a sub-slice of it.
pub(crate) fn range_in(whole: &str, part: &str) -> Option<std::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &str) -> String {
        let mut out = Vec::new();
        encode_into(&mut out, value);
        String::from_utf8(out).expect("encoder emits UTF-8")
    }

    #[test]
    fn encode_escapes_quotes_backslashes_and_controls() {
        assert_eq!(encoded("plain"), r#""plain""#);
        assert_eq!(encoded(""), r#""""#);
        assert_eq!(encoded("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(encoded("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(encoded("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(encoded("é😀/"), "\"é😀/\"");
    }

    #[test]
    fn encode_round_trips_through_serde_json() {
        for value in [
            "x\"y",
            "\\",
            "\u{0}",
            "tab\there",
            "😀\u{2028}",
            "</script>",
        ] {
            let back: String = serde_json::from_str(&encoded(value)).expect("valid JSON");
            assert_eq!(back, value);
        }
    }

    #[test]
    fn decode_borrows_without_escapes() {
        assert!(matches!(decode(r#""abc""#), Some(Cow::Borrowed("abc"))));
        assert_eq!(decode(r#""\u0077x""#).as_deref(), Some("wx"));
        assert!(matches!(decode(r#""\u0077x""#), Some(Cow::Owned(_))));
        assert_eq!(decode(r#""\ud83d\ude00""#).as_deref(), Some("😀"));
        assert_eq!(decode(r#""\ud83d""#), None);
        assert_eq!(decode("12"), None);
        assert_eq!(decode("\""), None);
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name("12"), "an integer");
        assert_eq!(type_name("-0"), "an integer");
        assert_eq!(type_name("1.5"), "a non-integer number");
        assert_eq!(type_name("1e3"), "a non-integer number");
        assert_eq!(type_name("null"), "null");
        assert_eq!(type_name("true"), "a boolean");
        assert_eq!(type_name("{}"), "an object");
        assert_eq!(type_name("[]"), "an array");
        assert_eq!(type_name("\"\""), "a string");
    }

    #[test]
    fn range_in_rejects_foreign_slices() {
        let whole = String::from("0123456789");
        let other = String::from("34");
        assert_eq!(range_in(&whole, &whole[3..5]), Some(3..5));
        assert_eq!(range_in(&whole, &other), None);
    }
}
