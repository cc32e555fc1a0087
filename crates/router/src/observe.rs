//! Counts what the router decided: one call per parsed request body, by server, tool,
//! method and outcome, and the time the decision took. Only names the catalog holds become
//! tool labels; a name a client made up is counted under an empty tool.

use std::time::Duration;

use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::ConfigStore;
use mcp_gateway_metrics::{Call, Outcome, global};
use mcp_gateway_protocol::codes;
use mcp_gateway_routing::{Addressed, Plan, Reject, RequestContext};

/// Records the body phase's `plan` for the request in `ctx`, decided in `elapsed`.
pub(crate) fn request_body(
    config: &ConfigStore,
    catalog: &CatalogStore,
    ctx: &RequestContext,
    plan: &Plan,
    elapsed: Duration,
) {
    let metrics = global();
    metrics.decision.observe(elapsed);
    let method = ctx.method_label();
    let call = match plan {
        Plan::Route(route) => match &route.metadata {
            Some(meta) => {
                let name = match &meta.addressed {
                    Some((Addressed::Tool | Addressed::Prompt, original)) => original.as_str(),
                    _ => "",
                };
                Call {
                    server: &meta.server,
                    name,
                    method: method.unwrap_or(""),
                    outcome: Outcome::Ok,
                }
            }
            None => return,
        },
        // Only a parsed body goes on to the broker as a call.
        Plan::Continue | Plan::Respond(_) => match method {
            Some(method) => Call {
                server: "",
                name: "",
                method,
                outcome: Outcome::Ok,
            },
            None => return,
        },
        Plan::Reject(reject) => Call {
            server: "",
            name: "",
            method: method.unwrap_or(""),
            outcome: outcome(reject),
        },
    };
    let addressed = match plan {
        Plan::Route(route) => route.metadata.as_ref().and_then(|m| m.addressed.as_ref()),
        _ => None,
    };
    metrics.calls.record(call, || {
        let (kind, original) = addressed?;
        exposed(config, catalog, call.server, *kind, original)
    });
}

/// The exposed name of `original` on `server`, when the catalog holds it. Asked once per
/// label set, so the allocation here is not paid per call.
fn exposed(
    config: &ConfigStore,
    catalog: &CatalogStore,
    server: &str,
    kind: Addressed,
    original: &str,
) -> Option<String> {
    let config = config.load();
    let prefix = &config.server(server)?.tool_prefix;
    let exposed = format!("{prefix}{original}");
    let catalog = catalog.load();
    let route = match kind {
        Addressed::Tool => catalog.tool(&exposed),
        Addressed::Prompt => catalog.prompt(&exposed),
        _ => None,
    }?;
    (&*route.server == server && &*route.original == original).then_some(exposed)
}

/// How a refusal counts: authentication and policy refusals are `denied`; a backend that
/// could not be reached, opened or given its credential (or the session store) is
/// `backend_error`; the rest is the client's (`error`).
fn outcome(reject: &Reject) -> Outcome {
    match (reject.status, reject.code) {
        (401 | 403, _) => Outcome::Denied,
        (200 | 503, codes::INTERNAL_ERROR) => Outcome::BackendError,
        _ => Outcome::Error,
    }
}

#[cfg(test)]
mod tests {
    use mcp_gateway_routing::RouteError;

    use super::*;

    #[test]
    fn refusals_are_classified() {
        let cases = [
            (RouteError::UnknownTool("x".into()), Outcome::Error),
            (
                RouteError::Forbidden {
                    kind: "tool",
                    name: "x".into(),
                },
                Outcome::Denied,
            ),
            (
                RouteError::BackendUnavailable {
                    server: "s".into(),
                    reason: "down".into(),
                },
                Outcome::BackendError,
            ),
            (
                RouteError::CredentialUnavailable {
                    server: "s".into(),
                    reason: "down".into(),
                },
                Outcome::BackendError,
            ),
            (RouteError::MissingSession, Outcome::Error),
        ];
        for (error, expected) in cases {
            assert_eq!(outcome(&Reject::new(&error, None)), expected, "{error:?}");
        }
    }
}
