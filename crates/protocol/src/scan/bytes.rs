//! Byte-level helpers of the scan: skipping plain string content, comparing short keys,
//! quoting client text in error messages.

use std::borrow::Cow;

/// Bytes that end a run of plain string content: `"`, `\\` and controls.
pub(super) const STOPS_STRING: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// String equality without a call to `memcmp`: keys are short.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// The first byte at or after `i` that ends a run of plain string content, eight bytes
/// at a time while none of them does (most string bytes are plain).
pub(super) fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether some byte of `word` is below `n` (exact for n <= 128).
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH != 0;
    let zero_byte = |word: u64| below(word, 1);
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(eight);
        if below(word, 0x20)
            || zero_byte(word ^ (ONES * u64::from(b'"')))
            || zero_byte(word ^ (ONES * u64::from(b'\\')))
        {
            break;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if STOPS_STRING[usize::from(b)] {
            break;
        }
        i += 1;
    }
    i
}

/// Longest key or number quoted in an error message.
const QUOTED_MAX: usize = 64;

/// `text`, cut to [`QUOTED_MAX`] characters for an error message.
pub(super) fn quoted(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(QUOTED_MAX) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}...", text.get(..cut).unwrap_or_default())),
    }
}
