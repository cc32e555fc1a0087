//! The one pass over a request body: validates it as JSON (RFC 8259), refuses
//! what parsers disagree on or choke on, and reports the members the gateway
//! reads as slices of the body.
//!
//! Refused although valid JSON, because a backend would read it differently
//! from the gateway or fail on it (see `README.md`):
//! - an object key that appears twice in its object, at any depth (keys are
//!   compared after decoding escapes, as a backend compares them);
//! - nesting deeper than [`Limits::max_depth`];
//! - a lone UTF-16 surrogate escape (`"\ud800"`): not a Unicode string;
//! - a number too large for a 64-bit float (`1e999`).
//!
//! The scanner keeps its own stack of open objects and arrays, so no input,
//! however deep, can overflow the thread's stack.

use std::borrow::Cow;
use std::collections::HashSet;

use bytes::{quoted, same, skip_plain};

/// Limits on what a body may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of objects and arrays; the message object itself is
    /// level 1, its `params` level 2.
    pub max_depth: usize,
}

/// The default nesting limit: far above any real MCP message, far below what
/// recursive parsers (serde_json's limit is 128) refuse or overflow on.
pub const DEFAULT_MAX_DEPTH: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Why a body did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// Not JSON: the caller asks serde_json for a message with a position.
    Syntax,
    /// Valid JSON the gateway refuses, with the reason.
    Refused(String),
}

/// Where the scanner reports the members of the top-level object and of the
/// object that is its `params` member.
pub(crate) trait Sink<'a> {
    /// A member of the top-level object, with its key decoded and its raw value.
    fn top_member(&mut self, key: &str, value: &'a str);
    /// A member of the `params` object; `key` is `None` when it has escapes.
    fn params_member(&mut self, key: Option<&'a str>, value: &'a str);
}

/// A sink that keeps nothing: the scan only validates.
pub(crate) struct Ignore;

impl<'a> Sink<'a> for Ignore {
    fn top_member(&mut self, _: &str, _: &'a str) {}
    fn params_member(&mut self, _: Option<&'a str>, _: &'a str) {}
}

/// Objects with more keys than this are checked for duplicates with a hash
/// set instead of a linear search.
const LINEAR_KEYS: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The top-level object.
    Top,
    /// The top-level object's `params`, when an object.
    Params,
    Other,
}

struct Frame<'a> {
    is_object: bool,
    role: Role,
    /// Where the current member's (or element's) value starts.
    value_start: usize,
    /// This object's keys start at this index of the shared key list.
    keys_base: usize,
    /// Every key so far, once the object has more than [`LINEAR_KEYS`].
    set: Option<HashSet<Cow<'a, str>>>,
}

/// Scans `body`, one JSON value with optional whitespace around it.
pub(crate) fn scan<'a>(
    body: &'a str,
    limits: Limits,
    sink: &mut impl Sink<'a>,
) -> Result<(), ScanError> {
    Scanner {
        body,
        bytes: body.as_bytes(),
        limits,
        stack: Vec::new(),
        keys: Vec::new(),
        refusal: None,
    }
    .run(sink)
}

struct Scanner<'a> {
    body: &'a str,
    bytes: &'a [u8],
    limits: Limits,
    stack: Vec<Frame<'a>>,
    /// Keys (and their raw text when unescaped) of every open object, innermost last.
    keys: Vec<(Cow<'a, str>, Option<&'a str>)>,
    /// The first reason to refuse the body; reported once the rest of it has
    /// proved to be JSON, so that a syntax error always wins.
    refusal: Option<String>,
}

impl<'a> Scanner<'a> {
    fn run(mut self, sink: &mut impl Sink<'a>) -> Result<(), ScanError> {
        let mut at = self.whitespace(0);
        loop {
            // A value starts at `at`.
            let end = match self.bytes.get(at) {
                Some(&open @ (b'{' | b'[')) => {
                    // Checked at once: scanning on would grow the stack without bound.
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(ScanError::Refused(format!(
                            "JSON nested deeper than {} levels",
                            self.limits.max_depth
                        )));
                    }
                    let inner = self.whitespace(at + 1);
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.bytes.get(inner) == Some(&close) {
                        inner + 1
                    } else {
                        let role = self.child_role(open == b'{');
                        self.stack.push(Frame {
                            is_object: open == b'{',
                            role,
                            value_start: inner,
                            keys_base: self.keys.len(),
                            set: None,
                        });
                        at = if open == b'{' {
                            self.member_key(inner)?
                        } else {
                            inner
                        };
                        if let Some(frame) = self.stack.last_mut() {
                            frame.value_start = at;
                        }
                        continue;
                    }
                }
                Some(b'"') => self.string(at)?.0,
                Some(b'-' | b'0'..=b'9') => self.number(at)?,
                Some(b't') => self.literal(at, b"true")?,
                Some(b'f') => self.literal(at, b"false")?,
                Some(b'n') => self.literal(at, b"null")?,
                _ => return Err(ScanError::Syntax),
            };
            // A value ended at `end`: close containers as far as they end here.
            at = end;
            loop {
                let Some(frame) = self.stack.last() else {
                    return if self.whitespace(at) != self.bytes.len() {
                        Err(ScanError::Syntax)
                    } else if let Some(reason) = self.refusal {
                        Err(ScanError::Refused(reason))
                    } else {
                        Ok(())
                    };
                };
                if frame.is_object && frame.role != Role::Other {
                    let value = self.slice(frame.value_start, at)?;
                    self.report(frame.role, value, sink);
                }
                at = self.whitespace(at);
                let close = if frame.is_object { b'}' } else { b']' };
                match self.bytes.get(at) {
                    Some(b',') => {
                        let next = self.whitespace(at + 1);
                        at = if frame.is_object {
                            self.member_key(next)?
                        } else {
                            next
                        };
                        if let Some(frame) = self.stack.last_mut() {
                            frame.value_start = at;
                        }
                        break;
                    }
                    Some(&b) if b == close => {
                        at += 1;
                        // The closed container is the value of its parent's
                        // member or element, which the next round reports.
                        if let Some(frame) = self.stack.pop() {
                            self.keys.truncate(frame.keys_base);
                        }
                    }
                    _ => return Err(ScanError::Syntax),
                }
            }
        }
    }

    /// The role of an object or array opened as the current value.
    fn child_role(&self, is_object: bool) -> Role {
        match self.stack.last() {
            None if is_object => Role::Top,
            Some(frame)
                if is_object
                    && frame.role == Role::Top
                    && self.keys.last().map(|(k, _)| k.as_ref()) == Some("params") =>
            {
                Role::Params
            }
            _ => Role::Other,
        }
    }

    fn report(&self, role: Role, value: &'a str, sink: &mut impl Sink<'a>) {
        let Some((key, raw)) = self.keys.last() else {
            return;
        };
        match role {
            Role::Top => sink.top_member(key, value),
            Role::Params => sink.params_member(*raw, value),
            Role::Other => {}
        }
    }

    /// Reads `"key" :` at `at` into the current object, refusing a repeated
    /// key; returns where the member's value starts.
    fn member_key(&mut self, at: usize) -> Result<usize, ScanError> {
        if self.bytes.get(at) != Some(&b'"') {
            return Err(ScanError::Syntax);
        }
        let (end, escaped) = self.string(at)?;
        let raw = self.slice(at + 1, end - 1)?;
        let key = if escaped {
            let token = self.slice(at, end)?;
            // Fails only on a lone surrogate, already refused: compare the raw text then.
            serde_json::from_str::<String>(token).map_or(Cow::Borrowed(raw), Cow::Owned)
        } else {
            Cow::Borrowed(raw)
        };
        let Some(frame) = self.stack.last_mut() else {
            return Err(ScanError::Syntax);
        };
        let siblings = self.keys.get(frame.keys_base..).unwrap_or_default();
        let repeated = match &mut frame.set {
            Some(set) => !set.insert(key.clone()),
            None => {
                let repeated = siblings.iter().any(|(k, _)| same(k, &key));
                if !repeated && siblings.len() >= LINEAR_KEYS {
                    let mut set: HashSet<Cow<'a, str>> =
                        siblings.iter().map(|(k, _)| k.clone()).collect();
                    set.insert(key.clone());
                    frame.set = Some(set);
                }
                repeated
            }
        };
        if repeated {
            self.refuse(format!(
                "duplicate key {:?}: parsers disagree on which copy counts",
                quoted(&key)
            ));
        }
        self.keys.push((key, (!escaped).then_some(raw)));
        let colon = self.whitespace(end);
        if self.bytes.get(colon) != Some(&b':') {
            return Err(ScanError::Syntax);
        }
        Ok(self.whitespace(colon + 1))
    }

    /// The end of the string token starting at `at`, and whether it has escapes.
    fn string(&mut self, at: usize) -> Result<(usize, bool), ScanError> {
        let mut i = at + 1;
        let mut escaped = false;
        loop {
            i = skip_plain(self.bytes, i);
            match self.bytes.get(i) {
                Some(b'"') => return Ok((i + 1, escaped)),
                Some(b'\\') => {
                    escaped = true;
                    i = self.escape(i)?;
                }
                _ => return Err(ScanError::Syntax),
            }
        }
    }

    /// The end of the escape starting with the backslash at `at`.
    fn escape(&mut self, at: usize) -> Result<usize, ScanError> {
        match self.bytes.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
            Some(b'u') => {
                let unit = self.hex4(at + 2)?;
                let paired = match unit {
                    0xD800..=0xDBFF => {
                        self.bytes.get(at + 6..at + 8) == Some(&b"\\u"[..])
                            && (0xDC00..=0xDFFF).contains(&self.hex4(at + 8)?)
                    }
                    0xDC00..=0xDFFF => false,
                    _ => return Ok(at + 6),
                };
                if paired {
                    return Ok(at + 12);
                }
                self.refuse(format!(
                    "string with a lone UTF-16 surrogate (\\u{unit:04x}) is not valid Unicode"
                ));
                Ok(at + 6)
            }
            _ => Err(ScanError::Syntax),
        }
    }

    fn hex4(&self, at: usize) -> Result<u16, ScanError> {
        let digits = self.bytes.get(at..at + 4).ok_or(ScanError::Syntax)?;
        digits.iter().try_fold(0u16, |unit, &b| {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(ScanError::Syntax),
            };
            Ok(unit << 4 | u16::from(digit))
        })
    }

    /// The end of the number token starting at `at`; refuses numbers no
    /// 64-bit float can hold.
    fn number(&mut self, at: usize) -> Result<usize, ScanError> {
        let mut i = at;
        if self.bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        match self.bytes.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = self.digits(i),
            _ => return Err(ScanError::Syntax),
        }
        let int_digits = i - int_start;
        let mut exponent = false;
        if self.bytes.get(i) == Some(&b'.') {
            let end = self.digits(i + 1);
            if end == i + 1 {
                return Err(ScanError::Syntax);
            }
            i = end;
        }
        if let Some(b'e' | b'E') = self.bytes.get(i) {
            exponent = true;
            i += 1;
            if let Some(b'+' | b'-') = self.bytes.get(i) {
                i += 1;
            }
            let end = self.digits(i);
            if end == i {
                return Err(ScanError::Syntax);
            }
            i = end;
        }
        // f64 tops out near 1.8e308: only an exponent or 309+ integer digits reach it.
        if exponent || int_digits > 308 {
            let token = self.slice(at, i)?;
            if !matches!(token.parse::<f64>(), Ok(value) if value.is_finite()) {
                self.refuse(format!(
                    "number {} is out of range of a 64-bit float",
                    quoted(token)
                ));
            }
        }
        Ok(i)
    }

    fn refuse(&mut self, reason: String) {
        self.refusal.get_or_insert(reason);
    }

    fn digits(&self, mut i: usize) -> usize {
        while let Some(b'0'..=b'9') = self.bytes.get(i) {
            i += 1;
        }
        i
    }

    fn literal(&self, at: usize, word: &[u8]) -> Result<usize, ScanError> {
        match self.bytes.get(at..at + word.len()) {
            Some(found) if found == word => Ok(at + word.len()),
            _ => Err(ScanError::Syntax),
        }
    }

    fn whitespace(&self, mut i: usize) -> usize {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(i) {
            i += 1;
        }
        i
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'a str, ScanError> {
        self.body.get(start..end).ok_or(ScanError::Syntax)
    }
}

mod bytes;

#[cfg(test)]
mod tests;
