//! Patterns where `*` matches any run of characters (none included); nothing else is special.

use std::fmt;

/// A compiled pattern: split at its stars once, when the config is validated.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: String,
    /// The literal pieces between stars; `parts.len() == stars + 1`.
    parts: Vec<String>,
}

impl Pattern {
    /// Compiles `text`; an empty pattern is refused (it could only match empty values).
    pub fn new(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() {
            return Err("is an empty pattern");
        }
        Ok(Self {
            text: text.to_owned(),
            parts: text.split('*').map(str::to_owned).collect(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `value` matches: the first piece starts it, the last ends it, and the pieces
    /// between appear in order without overlapping. Linear in `value`, never backtracks.
    pub fn matches(&self, value: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(split) => split,
            None => return false,
        };
        let Some((last, middle)) = rest.split_last() else {
            return value == first;
        };
        let Some(mut value) = value.strip_prefix(first.as_str()) else {
            return false;
        };
        for piece in middle {
            match value.find(piece.as_str()) {
                Some(at) => value = &value[at + piece.len()..],
                None => return false,
            }
        }
        value.len() >= last.len() && value.ends_with(last.as_str())
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, value: &str) -> bool {
        Pattern::new(pattern).unwrap().matches(value)
    }

    #[test]
    fn stars_match_any_run() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("calc_*", "calc_add"));
        assert!(m("calc_*", "calc_"));
        assert!(!m("calc_*", "calcadd"));
        assert!(!m("calc_*", "xcalc_add"));
        assert!(m("*_add", "calc_add"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*b*c", "acb"));
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
        assert!(m("**", "x"));
        assert!(m("exact", "exact"));
        assert!(!m("exact", "exactly"));
        assert!(m("calc://*", "calc://notes/1"));
    }

    #[test]
    fn empty_patterns_are_refused() {
        assert!(Pattern::new("").is_err());
    }
}
