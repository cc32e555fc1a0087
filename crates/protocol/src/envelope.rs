//! The top-level JSON-RPC object, read in the one pass of [`scan`]: each
//! member the gateway interprets is kept as a borrowed raw value, everything
//! else is only validated. When `params` is an object its top-level members
//! are indexed in the same pass, so looking up `params.name` later does not
//! scan a large `arguments` value a second time.

use crate::params::Index;
use crate::scan::{self, Limits, ScanError, Sink};

/// The raw members of a top-level object, borrowed from the body. No member
/// appears twice: the scan refuses repeated keys.
#[derive(Debug, Default)]
pub(crate) struct Envelope<'a> {
    pub(crate) jsonrpc: Option<&'a str>,
    pub(crate) id: Option<&'a str>,
    pub(crate) method: Option<&'a str>,
    pub(crate) params: Option<&'a str>,
    /// The top-level members of `params`, when it is an object and every key
    /// fit the index.
    pub(crate) params_index: Option<Index<'a>>,
    pub(crate) result: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    /// The members of `params` seen so far, and whether all of them fit.
    index: Index<'a>,
    index_overflowed: bool,
}

impl<'a> Envelope<'a> {
    /// Reads a body whose first non-whitespace byte is `{`. Errors are about
    /// the JSON only: every JSON-RPC shape rule is checked by the caller.
    pub(crate) fn read(body: &'a str, limits: Limits) -> Result<Self, ScanError> {
        let mut envelope = Self::default();
        scan::scan(body, limits, &mut envelope)?;
        Ok(envelope)
    }
}

impl<'a> Sink<'a> for Envelope<'a> {
    fn top_member(&mut self, key: &str, value: &'a str) {
        let slot = match key {
            "jsonrpc" => &mut self.jsonrpc,
            "id" => &mut self.id,
            "method" => &mut self.method,
            "params" => {
                if value.starts_with('{') && !self.index_overflowed {
                    self.params_index = Some(self.index);
                }
                &mut self.params
            }
            "result" => &mut self.result,
            "error" => &mut self.error,
            _ => return,
        };
        *slot = Some(value);
    }

    fn params_member(&mut self, key: Option<&'a str>, value: &'a str) {
        let fits = key.is_some_and(|key| self.index.push(key, value));
        self.index_overflowed |= !fits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Envelope<'_> {
        Envelope::read(body, Limits::default()).expect(body)
    }

    #[test]
    fn params_text_is_the_whole_object() {
        let cases = [
            (r#"{"params":{},"jsonrpc":"2.0"}"#, "{}"),
            (r#"{"params" : { } }"#, "{ }"),
            (
                "{\"params\"\n:\t{\"a\" : 1 ,\"b\":[{}] \r\n} , \"x\":1}",
                "{\"a\" : 1 ,\"b\":[{}] \r\n}",
            ),
            (
                r#"{"params":{"n\u0061me":"x","arguments":{"}":"{"}}}"#,
                r#"{"n\u0061me":"x","arguments":{"}":"{"}}"#,
            ),
            (r#"{"params":[1,{"a":2}]}"#, r#"[1,{"a":2}]"#),
            (r#"{"params":"text"}"#, r#""text""#),
            (r#"{"p\u0061rams":{"name":"x"}}"#, r#"{"name":"x"}"#),
        ];
        for (body, params) in cases {
            assert_eq!(read(body).params, Some(params), "{body}");
        }
    }

    #[test]
    fn params_index_is_kept_only_when_complete() {
        let indexed = |body| read(body).params_index.is_some();
        assert!(indexed(r#"{"params":{"name":"x","arguments":{"a":1}}}"#));
        assert!(indexed(r#"{"params":{}}"#));
        assert!(indexed(r#"{"p\u0061rams":{"name":"x"}}"#));
        assert!(!indexed(r#"{"params":{"n\u0061me":"x"}}"#));
        assert!(!indexed(r#"{"params":[]}"#));
        assert!(!indexed(
            r#"{"params":{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}}"#
        ));
    }

    #[test]
    fn nested_members_named_like_the_envelope_are_not_read() {
        let envelope = read(r#"{"x":{"id":1,"params":{"name":"n"}},"params":[{"name":"m"}]}"#);
        assert_eq!(envelope.id, None);
        assert_eq!(envelope.params, Some(r#"[{"name":"m"}]"#));
        assert_eq!(envelope.params_index, None);
    }
}
