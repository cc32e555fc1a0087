//! HTTP/1.1 written byte for byte, for requests no HTTP client library sends: an
//! absolute-form request target, a `Host` that is not the server's, repeated or oddly
//! cased headers. Each request uses its own connection (`Connection: close`).

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout_at},
};

/// Longest a wire request may take; an event stream is read only up to its headers.
const WIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// One request as it goes on the wire.
#[derive(Debug, Clone)]
pub struct WireRequest {
    /// `GET`, `POST`, `DELETE`, …
    pub method: String,
    /// The request target: `/mcp` (origin form) or `http://host/mcp` (absolute form).
    pub target: String,
    /// Header lines in order, `Host` included (none is added but `content-length`
    /// and `connection: close`).
    pub headers: Vec<(String, String)>,
    /// The body; `content-length` is set from it when not empty.
    pub body: String,
}

/// The status line, headers and body of a wire response.
#[derive(Debug, Clone)]
pub struct WireReply {
    /// HTTP status code.
    pub status: u16,
    /// Header (lower-case name, value) pairs in order.
    pub headers: Vec<(String, String)>,
    /// The body as received (empty for an event stream, which is not read).
    pub body: String,
}

impl WireReply {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

impl std::fmt::Display for WireReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {:?} {}", self.status, self.headers, self.body)
    }
}

/// Sends `request` to `addr` and reads the answer: the whole body, or only the headers
/// of an event stream.
pub async fn send(addr: SocketAddr, request: &WireRequest) -> Result<WireReply> {
    let deadline = Instant::now() + WIRE_TIMEOUT;
    let mut stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .context("connecting timed out")?
        .with_context(|| format!("connecting to {addr}"))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !request.body.is_empty() {
        head.push_str(&format!("content-length: {}\r\n", request.body.len()));
    }
    head.push_str("connection: close\r\n\r\n");
    // One write: a server that answers from the headers alone (a refusal) then finds no
    // unread body when it closes, so the kernel does not reset the connection under the
    // answer.
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(request.body.as_bytes());
    stream.write_all(&bytes).await?;

    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(end) = find(&received, b"\r\n\r\n") {
            break end;
        }
        let n = timeout_at(deadline, stream.read(&mut chunk))
            .await
            .context("no response headers in time")??;
        if n == 0 {
            bail!(
                "connection closed before the response headers: {:?}",
                String::from_utf8_lossy(&received)
            );
        }
        received.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&received[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut reply = WireReply {
        status,
        headers,
        body: String::new(),
    };
    if reply
        .header("content-type")
        .is_some_and(|value| value.starts_with("text/event-stream"))
    {
        return Ok(reply);
    }
    let mut body = received[header_end + 4..].to_vec();
    loop {
        let n = timeout_at(deadline, stream.read(&mut chunk))
            .await
            .context("response body not finished in time")??;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if reply
        .header("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body)?;
    }
    reply.body = String::from_utf8_lossy(&body).into_owned();
    Ok(reply)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The payload of a complete chunked body.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n").context("chunk size line")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("chunk size {size_text:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}
