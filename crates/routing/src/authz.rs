//! Authorization of routed requests: the policy's decision on what a call names, and its
//! audit line. Runs after the routing decision and before any backend is touched.

use std::time::Instant;

use mcp_gateway_audit::{Auditor, Decision as Audited, Record};
use mcp_gateway_config::{Config, Offering};
use mcp_gateway_policy::Access;
use mcp_gateway_protocol::Message;

use crate::RouteError;
use crate::context::RequestContext;
use crate::decision::{Addressed, Target};

/// Whether the caller may use what `target` names; writes the audit line either way.
///
/// Tools, prompts and resources (also through `completion/complete` and subscriptions) are
/// decided by the policy. Task ids and responses to server requests are not: they continue
/// something an allowed call started in the same session.
pub(crate) fn authorize(
    config: &Config,
    ctx: &RequestContext,
    msg: &Message<'_>,
    target: &Target<'_>,
) -> Result<(), RouteError> {
    let started = Instant::now();
    let kind = match target.kind {
        Addressed::Tool => Some(Offering::Tool),
        Addressed::Prompt => Some(Offering::Prompt),
        Addressed::Resource => Some(Offering::Resource),
        Addressed::Task | Addressed::Response => None,
    };
    let verdict = kind.map(|kind| {
        Access::of(config, ctx.caller.as_ref()).check(kind, &target.server.name, &target.exposed)
    });
    let allowed = verdict.is_none_or(|v| v.allowed);
    if let Some(auditor) = Auditor::global() {
        let caller = ctx.caller.as_ref();
        auditor.record(&Record {
            request_id: ctx.request_id.as_deref(),
            subject: caller.map(|c| c.subject()),
            client_id: caller.and_then(|c| c.client_id()),
            session: ctx.session.as_deref(),
            method: msg.method().unwrap_or("response"),
            server: Some(&target.server.name),
            kind: kind.map(Offering::as_str),
            exposed: Some(&target.exposed),
            original: Some(&target.original),
            decision: Some(if allowed {
                Audited::Allow
            } else {
                Audited::Deny
            }),
            rule: verdict.and_then(|v| v.rule),
            status: (!allowed).then_some(403),
            duration: Some(started.elapsed()),
        });
    }
    match (allowed, kind) {
        (false, Some(kind)) => Err(RouteError::Forbidden {
            kind: kind.as_str(),
            name: target.exposed.clone().into_owned(),
        }),
        _ => Ok(()),
    }
}
