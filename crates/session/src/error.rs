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
    /// The session store could not be reached or answered with an error.
    #[error("session store: {0}")]
    Store(String),
}
