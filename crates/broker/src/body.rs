//! JSON-RPC answers sent as a few shared pieces: a cached list of thousands of tools goes out
//! from the catalog's own bytes, with no copy into a response buffer.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The JSON text of a `result`, in pieces.
#[derive(Debug)]
pub(crate) struct ResultJson(Vec<Bytes>);

impl ResultJson {
    /// One piece after another.
    pub(crate) fn from_pieces(pieces: Vec<Bytes>) -> Self {
        Self(pieces)
    }

    /// The whole answer `{"jsonrpc":"2.0","id":<id>,"result":<result>}`, `id_raw` being the
    /// request's id as JSON text.
    pub(crate) fn into_response_body(self, id_raw: Option<&str>) -> Pieces {
        let head = format!(
            r#"{{"jsonrpc":"2.0","id":{},"result":"#,
            id_raw.unwrap_or("null")
        );
        let mut pieces = VecDeque::with_capacity(self.0.len() + 2);
        pieces.push_back(Bytes::from(head));
        pieces.extend(self.0);
        pieces.push_back(Bytes::from_static(b"}"));
        Pieces::new(pieces)
    }
}

impl From<String> for ResultJson {
    fn from(json: String) -> Self {
        Self(vec![Bytes::from(json)])
    }
}

/// An HTTP body of pieces with an exact length (so it is sent with `Content-Length`).
#[derive(Debug)]
pub(crate) struct Pieces {
    pieces: VecDeque<Bytes>,
    remaining: u64,
}

impl Pieces {
    fn new(pieces: VecDeque<Bytes>) -> Self {
        let remaining = pieces.iter().map(|p| p.len() as u64).sum();
        Self { pieces, remaining }
    }
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.pieces.pop_front();
        if let Some(piece) = &next {
            self.remaining -= piece.len() as u64;
        }
        Poll::Ready(next.map(|piece| Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pieces_make_one_exact_body() {
        let result = ResultJson::from_pieces(vec![
            Bytes::from_static(br#"{"tools":"#),
            Bytes::from_static(b"[1,2]"),
            Bytes::from_static(b"}"),
        ]);
        let body = result.into_response_body(Some("7"));
        let want = br#"{"jsonrpc":"2.0","id":7,"result":{"tools":[1,2]}}"#;
        assert_eq!(body.size_hint().exact(), Some(want.len() as u64));
        let bytes = axum::body::to_bytes(axum::body::Body::new(body), usize::MAX)
            .await
            .expect("infallible");
        assert_eq!(&bytes[..], want);
    }
}
