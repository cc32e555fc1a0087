use std::net::SocketAddr;
use std::time::Duration;

/// What can go wrong talking to a server under test; [`BenchError::kind`] names the kind for
/// error counts.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The URL is not an `http://host:port/path` URL this tool can use.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The TCP connection could not be opened.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// Where to.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The HTTP exchange failed (connection closed, malformed response).
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// No complete response in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// An unexpected HTTP status.
    #[error("HTTP status {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A JSON-RPC error response.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
    },
    /// A response that is not the JSON-RPC answer to the request.
    #[error("bad response: {0}")]
    Protocol(String),
    /// A local I/O error (sockets, files).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl BenchError {
    /// A short stable name for error counts: `connect`, `http`, `timeout`, `status_404`,
    /// `rpc_-32603`, `protocol`, `url`, `io`.
    pub fn kind(&self) -> String {
        match self {
            Self::Url { .. } => "url".to_owned(),
            Self::Connect { .. } => "connect".to_owned(),
            Self::Http(_) => "http".to_owned(),
            Self::Timeout(_) => "timeout".to_owned(),
            Self::Status { status, .. } => format!("status_{status}"),
            Self::Rpc { code, .. } => format!("rpc_{code}"),
            Self::Protocol(_) => "protocol".to_owned(),
            Self::Io(_) => "io".to_owned(),
        }
    }

    /// Whether the connection that saw this error can carry the next request.
    pub fn keeps_connection(&self) -> bool {
        matches!(
            self,
            Self::Status { .. } | Self::Rpc { .. } | Self::Protocol(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_names() {
        let status = BenchError::Status {
            status: 502,
            body: String::new(),
        };
        assert_eq!(status.kind(), "status_502");
        let rpc = BenchError::Rpc {
            code: -32603,
            message: "down".into(),
        };
        assert_eq!(rpc.kind(), "rpc_-32603");
        assert_eq!(
            BenchError::Timeout(Duration::from_secs(1)).kind(),
            "timeout"
        );
    }
}
