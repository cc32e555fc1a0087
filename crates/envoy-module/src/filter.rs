//! The module's filter: each request phase runs the routing core (`mcp-gateway-routing`)
//! and applies its plan through Envoy's callbacks. No routing logic lives here.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::{Config, ConfigStore, Server};
use mcp_gateway_protocol::origin::OriginPolicy;
use mcp_gateway_routing::{
    Backends, FieldValue, METADATA_NAMESPACE, Opened, Plan, Policy, RequestContext, RouteError,
};

use crate::abi;
use crate::envoy::Stream;

/// Largest request body the module reads (the router's default).
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// One filter config (one `filter_config` in Envoy's bootstrap), shared by every worker.
pub(crate) struct FilterConfig {
    policy: Policy,
}

impl FilterConfig {
    /// A config from the filter's `filter_config`: the gateway config (YAML or JSON); empty
    /// means no servers.
    pub(crate) fn new(text: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(text).map_err(|e| e.to_string())?;
        let text = if text.trim().is_empty() {
            "servers: []"
        } else {
            text
        };
        let config = Config::from_yaml(text).map_err(|e| e.to_string())?;
        let policy = Policy::new(
            ConfigStore::new(config),
            Arc::new(CatalogStore::new()),
            MAX_REQUEST_BYTES,
            OriginPolicy::default(),
        );
        Ok(Self { policy })
    }
}

/// One request's filter.
pub(crate) struct Filter {
    config: Arc<FilterConfig>,
    ctx: RequestContext,
}

impl Filter {
    pub(crate) fn new(config: Arc<FilterConfig>) -> Self {
        Self {
            config,
            ctx: RequestContext::default(),
        }
    }

    /// Request headers: the core's checks and header plan. A request whose body the core
    /// reads is held until that body has arrived whole.
    pub(crate) fn request_headers(&mut self, stream: &Stream, end_of_stream: bool) -> u32 {
        let headers = stream.request_headers();
        let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        let plan = ready(
            self.config
                .policy
                .request_headers(&Sidecar, &mut self.ctx, pairs),
        );
        match apply(stream, plan) {
            abi::CONTINUE if !end_of_stream => abi::STOP,
            status => status,
        }
    }

    /// Request body: buffered to its end, then the core's decision and plan.
    pub(crate) fn request_body(&mut self, stream: &Stream, end_of_stream: bool) -> u32 {
        if !end_of_stream {
            return abi::STOP;
        }
        let body = stream.request_body();
        let plan = ready(
            self.config
                .policy
                .request_body(&Sidecar, &mut self.ctx, &body),
        );
        apply(stream, plan)
    }
}

/// Applies a request-phase plan; the hook status to return.
fn apply(stream: &Stream, plan: Plan) -> u32 {
    match plan {
        Plan::Continue | Plan::Respond(_) => abi::CONTINUE,
        Plan::Reject(reject) => {
            let headers: Vec<(&str, &str)> = reject
                .headers
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            stream.send_response(reject.status, &headers, &reject.body());
            abi::STOP
        }
        Plan::Route(route) => {
            for name in &route.remove {
                stream.remove_request_header(name);
            }
            for (name, value) in &route.set {
                stream.set_request_header(name, value);
            }
            if let Some(body) = &route.body {
                stream.replace_request_body(body);
            }
            if let Some(metadata) = &route.metadata {
                for (key, value) in metadata.to_fields() {
                    match value {
                        FieldValue::Str(s) => {
                            stream.set_metadata_string(METADATA_NAMESPACE, key, &s)
                        }
                        FieldValue::Number(n) => {
                            stream.set_metadata_number(METADATA_NAMESPACE, key, n)
                        }
                    }
                }
            }
            if route.clear_route {
                stream.clear_route_cache();
            }
            abi::CONTINUE
        }
    }
}

/// The sidecar, as the core's [`Backends`]. Sessions are not available to the module yet
/// (issue 13, stage 3): a session id is refused and no backend session opens.
struct Sidecar;

impl Backends for Sidecar {
    fn session_valid(&self, _gateway: &str) -> bool {
        false
    }

    async fn open(&self, _gateway: &str, server: &Server) -> Result<Opened, RouteError> {
        Err(RouteError::BackendUnavailable {
            server: server.name.clone(),
            reason: "backend sessions are not available in module mode yet".into(),
        })
    }

    async fn open_servers(&self, _gateway: &str) -> Result<Vec<String>, RouteError> {
        Ok(Vec::new())
    }

    async fn forget(&self, _gateway: &str, _server: &str) {}

    async fn forget_if_current(&self, _gateway: &str, _server: &str, _backend: &str) {}
}

/// The plan of a phase whose steps are all ready now; a phase that would wait is refused
/// (nothing can wait yet: the sidecar's answers arrive in stage 3).
fn ready(phase: impl Future<Output = Plan>) -> Plan {
    let mut phase = pin!(phase);
    match phase.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(plan) => plan,
        Poll::Pending => Plan::reject(
            &RouteError::Internal("a routing step would wait, which the module cannot yet".into()),
            None,
        ),
    }
}
