//! Tokens from the issuer, cached per (server, subject) until shortly before they expire, and
//! fetched once however many requests want the same one at the same moment.
//!
//! A hit is two lock-free map reads. A miss joins the flight for its key, or starts one: a
//! task of its own, so a client that goes away does not cancel the fetch the others wait on.
//! Failures are not cached: the next request asks again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use mcp_gateway_config::{TokenClient, TokenRequest};
use reqwest::header::HeaderValue;
use tracing::debug;

use crate::CredentialError;
use crate::endpoint::{Endpoint, Grant, Token};
use crate::secret::{CLIENT_SECRET, Secrets};

/// Most tokens kept; past it expired ones are swept out, and if none is, a new token is used
/// without being kept.
pub const MAX_CACHED_TOKENS: usize = 100_000;

/// Whose token: a server, and the caller's subject (`None`: the gateway's own token).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) server: String,
    pub(crate) subject: Option<String>,
}

struct Cached {
    request: TokenRequest,
    token: Token,
}

type Flight = Shared<BoxFuture<'static, Result<HeaderValue, CredentialError>>>;

/// The token cache, its flights and the client that fetches.
pub(crate) struct Tokens {
    http: reqwest::Client,
    timeout: Duration,
    cached: papaya::HashMap<TokenKey, Arc<Cached>>,
    flights: papaya::HashMap<TokenKey, Flight>,
    fetches: AtomicU64,
}

impl Tokens {
    pub(crate) fn new(http: reqwest::Client, timeout: Duration) -> Self {
        Self {
            http,
            timeout,
            cached: papaya::HashMap::new(),
            flights: papaya::HashMap::new(),
            fetches: AtomicU64::new(0),
        }
    }

    /// Requests sent to token endpoints so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Forgets the tokens of servers not in `keep`.
    pub(crate) fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.cached.pin().retain(|key, _| keep(&key.server));
    }

    fn fresh(&self, key: &TokenKey, request: &TokenRequest) -> Option<HeaderValue> {
        let cached = self.cached.pin();
        let hit = cached.get(key)?;
        (hit.request == *request && hit.token.refresh_at > Instant::now())
            .then(|| hit.token.header.clone())
    }
}

/// What a flight needs, owned (it runs as a task of its own).
pub(crate) struct Fetch {
    pub(crate) key: TokenKey,
    pub(crate) request: TokenRequest,
    pub(crate) client: TokenClient,
    /// The caller's token, for an exchange.
    pub(crate) subject_token: Option<String>,
}

/// The `Bearer` header for `fetch`: cached, from a flight in progress, or fetched now.
pub(crate) async fn token(
    tokens: &Arc<Tokens>,
    secrets: &Arc<Secrets>,
    fetch: Fetch,
) -> Result<HeaderValue, CredentialError> {
    if let Some(header) = tokens.fresh(&fetch.key, &fetch.request) {
        return Ok(header);
    }
    let key = fetch.key.clone();
    let flight = tokens
        .flights
        .pin()
        .get_or_insert_with(key, || flight(tokens.clone(), secrets.clone(), fetch))
        .clone();
    flight.await
}

fn flight(tokens: Arc<Tokens>, secrets: Arc<Secrets>, fetch: Fetch) -> Flight {
    let server = fetch.key.server.clone();
    async move {
        let task = tokio::spawn(async move {
            let result = fly(&tokens, &secrets, &fetch).await;
            tokens.flights.pin().remove(&fetch.key);
            result
        });
        task.await.unwrap_or_else(|_| {
            Err(CredentialError::Token {
                server,
                reason: "the token request was aborted".into(),
            })
        })
    }
    .boxed()
    .shared()
}

async fn fly(
    tokens: &Tokens,
    secrets: &Secrets,
    fetch: &Fetch,
) -> Result<HeaderValue, CredentialError> {
    let server = &fetch.key.server;
    // A flight that just ended may have cached it after this one's caller looked.
    if let Some(header) = tokens.fresh(&fetch.key, &fetch.request) {
        return Ok(header);
    }
    let secret = secrets
        .value(CLIENT_SECRET, &fetch.client.client_secret, "")
        .await
        .map_err(|reason| CredentialError::Secret {
            server: server.clone(),
            reason: format!("the gateway's client secret: {reason}"),
        })?;
    let secret = secret.to_str().map_err(|_| CredentialError::Secret {
        server: server.clone(),
        reason: "the gateway's client secret is not text".into(),
    })?;
    let endpoint = Endpoint {
        http: &tokens.http,
        url: &fetch.client.token_endpoint,
        client_id: &fetch.client.client_id,
        client_secret: secret,
    };
    let grant = match &fetch.subject_token {
        Some(subject_token) => Grant::Exchange { subject_token },
        None => Grant::ClientCredentials,
    };
    tokens.fetches.fetch_add(1, Ordering::Relaxed);
    let requests = &mcp_gateway_metrics::global().token_requests;
    let token = endpoint
        .request(grant, &fetch.request, tokens.timeout)
        .await
        .map_err(|reason| {
            requests.inc(server, mcp_gateway_metrics::FAILED);
            CredentialError::Token {
                server: server.clone(),
                reason,
            }
        })?;
    requests.inc(server, mcp_gateway_metrics::OK);
    debug!(
        %server,
        exchanged = fetch.subject_token.is_some(),
        "token obtained"
    );
    let header = token.header.clone();
    let cached = tokens.cached.pin();
    if cached.len() >= MAX_CACHED_TOKENS {
        let now = Instant::now();
        cached.retain(|_, entry| entry.token.refresh_at > now);
    }
    if cached.len() < MAX_CACHED_TOKENS {
        cached.insert(
            fetch.key.clone(),
            Arc::new(Cached {
                request: fetch.request.clone(),
                token,
            }),
        );
    }
    Ok(header)
}
