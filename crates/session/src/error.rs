use thiserror::Error;

/// Why a session id or a store operation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The id is not one this gateway minted (bad encoding or MAC), or it was minted for another subject.
    #[error("session id is not valid for this gateway")]
    Invalid,
    /// The id was valid once but its lifetime is over.
    #[error("session id has expired")]
    Expired,
    /// The store holds as many live sessions as it may (`--max-sessions`); no session is
    /// evicted to make room.
    #[error("the gateway is at its session limit ({max} live sessions); try again later")]
    Full {
        /// The limit.
        max: usize,
    },
    /// The session store could not be reached or answered with an error.
    #[error("session store: {0}")]
    Store(String),
}

/// Why what a client declared in `initialize` cannot be kept with its session.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeclarationError {
    /// `capabilities` or `clientInfo` is larger than the gateway keeps per session.
    #[error(
        "initialize: params.{field} is {size} bytes, more than the {limit} this gateway accepts"
    )]
    TooLarge {
        /// `capabilities` or `clientInfo`.
        field: &'static str,
        /// Its size in bytes (for `clientInfo`: of the fields kept).
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// `capabilities` or `clientInfo` is not what MCP says it is.
    #[error("initialize: params.{field} {problem}")]
    Malformed {
        /// `capabilities` or `clientInfo`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}
