//! Which protocol eras a backend speaks, found out when its manager first reaches it (and
//! again after each outage, since a backend may come back upgraded).
//!
//! - `protocol: legacy`: no probe; `initialize` as ever.
//! - otherwise `server/discover` as a 2026-07-28 client. A backend that answers with a
//!   version the gateway speaks speaks 2026-07-28; with `protocol: auto` the manager then
//!   tries `initialize` too (it needs that session anyway when it succeeds): a backend that
//!   accepts it speaks both eras and keeps being listed over that session (its GET stream
//!   tells the manager of list changes), one that refuses it speaks 2026-07-28 only and is
//!   listed with 2026-07-28 requests. With `protocol: modern` it is taken for 2026-only
//!   without trying.
//! - a backend that refuses `server/discover` (a 2025-era one answers `-32601`, or an HTTP
//!   4xx for a request without a session) is 2025-era, unless `protocol: modern` says
//!   otherwise: then it is unhealthy, with the refusal as the reason.
//!
//! Cost: one `server/discover` per backend and healthy stretch, none per refresh.

use mcp_gateway_catalog::BackendProtocol;
use mcp_gateway_config::{ProtocolChoice, Server};
use mcp_gateway_upstream::{BackendSession, InitOptions, UpstreamClient, UpstreamError};
use tracing::debug;

const CLIENT_NAME: &str = "mcp-gateway";

/// What `server` speaks, and the session the manager lists it over.
pub(super) async fn detect(
    upstream: &UpstreamClient,
    server: &Server,
) -> Result<(BackendProtocol, BackendSession), UpstreamError> {
    let own = InitOptions::own(CLIENT_NAME);
    if server.protocol == ProtocolChoice::Legacy {
        let session = upstream.initialize(&server.url, &own).await?;
        return Ok((BackendProtocol::Legacy, session));
    }
    let discovered = match upstream.discover(&server.url, &own.client_info).await {
        Ok(found) => match found.version {
            Some(version) => Some((version, found)),
            None => {
                debug!(server = %server.name, versions = ?found.versions, "backend speaks no 2026 version the gateway does");
                None
            }
        },
        Err(e) if e.is_unreachable() => return Err(e),
        Err(e) if server.protocol == ProtocolChoice::Modern => return Err(e),
        Err(e) => {
            debug!(server = %server.name, error = %e, "no server/discover: a 2025-era backend");
            None
        }
    };
    let Some((version, found)) = discovered else {
        if server.protocol == ProtocolChoice::Modern {
            return Err(UpstreamError::Protocol(
                "server/discover names no protocol version the gateway speaks".into(),
            ));
        }
        let session = upstream.initialize(&server.url, &own).await?;
        return Ok((BackendProtocol::Legacy, session));
    };
    let stand_in = || BackendSession::modern(version, &found);
    if server.protocol == ProtocolChoice::Modern {
        return Ok((BackendProtocol::Modern, stand_in()));
    }
    match upstream.initialize(&server.url, &own).await {
        Ok(session) => {
            debug!(server = %server.name, "backend speaks 2026-07-28 and 2025");
            Ok((BackendProtocol::Both, session))
        }
        Err(e) if e.is_unreachable() => Err(e),
        Err(e) => {
            debug!(server = %server.name, error = %e, "backend speaks 2026-07-28 only");
            Ok((BackendProtocol::Modern, stand_in()))
        }
    }
}

/// The `subscriptions/listen` filter of every list change.
pub(super) static ALL_LISTS: std::sync::LazyLock<serde_json::Value> =
    std::sync::LazyLock::new(|| {
        serde_json::json!({
            "toolsListChanged": true,
            "promptsListChanged": true,
            "resourcesListChanged": true,
        })
    });

/// A 2026-07-28 stand-in for the backend of `session` (the manager's own, 2025 or 2026).
pub(super) fn stand_in(session: &BackendSession) -> BackendSession {
    if session.is_modern() {
        return session.clone();
    }
    BackendSession {
        session_id: None,
        protocol_version: mcp_gateway_protocol::versions::MODERN[0].to_owned(),
        ..session.clone()
    }
}
