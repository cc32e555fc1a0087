//! The sidecar's side of the Envoy module's internal API (`mcp_gateway_routing::sidecar`):
//! the same session steps the ext_proc router takes, answered over HTTP for a router that
//! runs inside Envoy, plus copies of the config and the catalog. Served on its own
//! loopback listener, never through Envoy's MCP listener.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query as UrlQuery, State as Shared};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router as App};
use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::ConfigStore;
use mcp_gateway_identity::{BearerToken, Caller};
use mcp_gateway_routing::Backends;
use mcp_gateway_routing::sidecar::{
    CLIENT_PATH, CREDENTIAL_PATH, CatalogCopy, ConfigText, CredentialCopy, CredentialQuery,
    FORGET_PATH, Failure, OPEN_PATH, OfferCopy, OpenedCopy, Query, SERVERS_PATH, SESSION_PATH,
    STATE_PATH, SessionClientCopy, State, Valid,
};
use serde_json::{Value, json};
use tracing::warn;

use crate::Router;
use crate::ext_proc::RouterState;

/// What the API reads.
struct Api {
    router: Arc<RouterState>,
    config: Arc<ConfigStore>,
    config_path: PathBuf,
    catalog: Arc<CatalogStore>,
}

impl Router {
    /// The module API over this router's sessions and the shared config (whose file is
    /// `config_path`) and catalog.
    pub fn module_api(
        &self,
        config: Arc<ConfigStore>,
        config_path: PathBuf,
        catalog: Arc<CatalogStore>,
    ) -> App {
        let api = Arc::new(Api {
            router: self.0.clone(),
            config,
            config_path,
            catalog,
        });
        App::new()
            .route(STATE_PATH, get(state))
            .route(SESSION_PATH, post(session_valid))
            .route(OPEN_PATH, post(open))
            .route(SERVERS_PATH, post(servers))
            .route(FORGET_PATH, post(forget))
            .route(CREDENTIAL_PATH, post(credential))
            .route(CLIENT_PATH, post(session_client))
            .with_state(api)
    }
}

/// The config and the catalog, each unless the module already has its generation.
async fn state(
    Shared(api): Shared<Arc<Api>>,
    UrlQuery(known): UrlQuery<HashMap<String, u64>>,
) -> Result<Json<State>, StatusCode> {
    let mut state = State::default();
    let generation = api.config.generation();
    if known.get("config") != Some(&generation) {
        // The file the config in force was read from; the module validates it again, and
        // keeps its last good config if the file changed into an invalid one.
        let yaml = tokio::fs::read_to_string(&api.config_path)
            .await
            .map_err(|error| {
                warn!(%error, path = %api.config_path.display(), "module API: cannot read the config");
                StatusCode::SERVICE_UNAVAILABLE
            })?;
        state.config = Some(ConfigText { generation, yaml });
    }
    if known.get("catalog") != Some(&api.catalog.generation()) {
        let (generation, offers) = api.catalog.snapshot();
        let servers = offers
            .iter()
            .map(|(name, offer)| OfferCopy::new(name, offer))
            .collect();
        state.catalog = Some(CatalogCopy {
            generation,
            servers,
        });
    }
    Ok(Json(state))
}

async fn session_valid(Shared(api): Shared<Arc<Api>>, Json(query): Json<Query>) -> Json<Valid> {
    Json(Valid {
        valid: api
            .router
            .sessions
            .session_valid_for(&query.session, query.subject.as_deref()),
    })
}

async fn open(
    Shared(api): Shared<Arc<Api>>,
    Json(query): Json<Query>,
) -> Json<Result<OpenedCopy, Failure>> {
    let Some(name) = query.server.as_deref() else {
        return Json(Err(Failure::Internal("no server named".into())));
    };
    let config = api.config.load();
    let Some(server) = config.server(name).filter(|s| s.enabled) else {
        return Json(Err(Failure::Unavailable(format!(
            "no enabled server {name}"
        ))));
    };
    let credential = query.credential.as_ref().map(CredentialCopy::header);
    let sessions = &api.router.sessions;
    let opened = match query.class {
        None => {
            sessions
                .open_with(&query.session, server, credential.as_ref())
                .await
        }
        Some(_) => match query.held() {
            Some(held) => sessions.open_held(&held, server, credential.as_ref()).await,
            None => return Json(Err(Failure::Internal("not a held session key".into()))),
        },
    };
    Json(opened.map(OpenedCopy::from).map_err(|e| Failure::of(&e)))
}

/// The credential of a server for the caller the module verified (its claims and token).
async fn credential(
    Shared(api): Shared<Arc<Api>>,
    Json(query): Json<CredentialQuery>,
) -> Json<Result<Option<CredentialCopy>, Failure>> {
    let config = api.config.load();
    let Some(server) = config.server(&query.server).filter(|s| s.enabled) else {
        return Json(Err(Failure::Unavailable(format!(
            "no enabled server {}",
            query.server
        ))));
    };
    let caller = match query.claims {
        None => None,
        Some(claims) => match Caller::from_claims(claims) {
            Ok(caller) => Some(match query.token {
                Some(token) => caller.with_token(BearerToken::new(token)),
                None => caller,
            }),
            Err(error) => return Json(Err(Failure::Internal(error.to_string()))),
        },
    };
    let credential = api
        .router
        .sessions
        .credential(server, caller.as_ref())
        .await;
    Json(match credential {
        Ok(None) => Ok(None),
        Ok(Some(header)) => CredentialCopy::of(&header).map(Some).ok_or_else(|| {
            Failure::Credential(format!(
                "the credential of MCP server '{}' is not text",
                server.name
            ))
        }),
        Err(error) => Err(Failure::of(&error)),
    })
}

/// What a session's client declared, for a request of it to a 2026-07-28-only backend.
async fn session_client(
    Shared(api): Shared<Arc<Api>>,
    Json(query): Json<Query>,
) -> Json<Result<SessionClientCopy, Failure>> {
    let Some(name) = query.server.as_deref() else {
        return Json(Err(Failure::Internal("no server named".into())));
    };
    let config = api.config.load();
    let Some(server) = config.server(name).filter(|s| s.enabled) else {
        return Json(Err(Failure::Unavailable(format!(
            "no enabled server {name}"
        ))));
    };
    let client = api
        .router
        .sessions
        .session_client(&query.session, server)
        .await;
    Json(
        client
            .map(SessionClientCopy::from)
            .map_err(|e| Failure::of(&e)),
    )
}

async fn servers(
    Shared(api): Shared<Arc<Api>>,
    Json(query): Json<Query>,
) -> Json<Result<Vec<String>, Failure>> {
    let servers = api.router.sessions.open_servers(&query.session).await;
    Json(servers.map_err(|e| Failure::of(&e)))
}

async fn forget(Shared(api): Shared<Arc<Api>>, Json(query): Json<Query>) -> Json<Value> {
    let sessions = &api.router.sessions;
    if let Some(server) = &query.server {
        match &query.backend {
            Some(backend) => {
                sessions
                    .forget_if_current(&query.session, server, backend)
                    .await
            }
            None => sessions.forget(&query.session, server).await,
        }
    }
    Json(json!({}))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mcp_gateway_config::Config;
    use mcp_gateway_session::{BackendSessions, MemoryStore, SessionIds, SessionKey};
    use mcp_gateway_upstream::UpstreamClient;

    use super::*;
    use crate::OriginPolicy;

    fn api() -> (Arc<Api>, SessionIds) {
        let config = ConfigStore::new(Config::from_yaml("servers: []").expect("valid config"));
        let catalog = Arc::new(CatalogStore::new());
        let upstream = UpstreamClient::new(Duration::from_millis(200)).expect("client");
        let backends = Arc::new(BackendSessions::new(Arc::new(MemoryStore::new()), upstream));
        let ids = SessionIds::new(SessionKey::random(), Duration::from_secs(60));
        let router = Router::new(
            config.clone(),
            catalog.clone(),
            backends,
            ids.clone(),
            1 << 20,
            OriginPolicy::default(),
        );
        let api = Api {
            router: router.0,
            config,
            config_path: PathBuf::new(),
            catalog,
        };
        (Arc::new(api), ids)
    }

    async fn valid(api: &Arc<Api>, session: &str, subject: Option<&str>) -> bool {
        let query = Query {
            session: session.to_owned(),
            subject: subject.map(str::to_owned),
            ..Query::default()
        };
        session_valid(Shared(api.clone()), Json(query))
            .await
            .0
            .valid
    }

    /// The module asks with the verified caller's subject; the answer is the ext_proc
    /// router's: valid for the subject the id was issued to, and for no one else.
    #[tokio::test]
    async fn a_session_is_valid_for_its_own_subject_only() {
        let (api, ids) = api();
        let bound = ids.mint(Some("5:idp-aalice"));
        assert!(valid(&api, &bound, Some("5:idp-aalice")).await);
        assert!(!valid(&api, &bound, Some("5:idp-bbob")).await);
        assert!(!valid(&api, &bound, None).await);
        let unbound = ids.mint(None);
        assert!(valid(&api, &unbound, None).await);
        assert!(!valid(&api, &unbound, Some("5:idp-aalice")).await);
    }
}
