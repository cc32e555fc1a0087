//! `subscriptions/listen` (MCP 2026-07-28): a 2026-07-28 client's long-lived POST whose answer
//! is an event stream of the notifications it chose, in place of the 2025 GET stream.
//!
//! The stream starts with `notifications/subscriptions/acknowledged`, naming what the gateway
//! honours of the request's `params.notifications` filter: `toolsListChanged`,
//! `promptsListChanged` and `resourcesListChanged` (the aggregated lists; a backend's own
//! change reaches them as the catalog changes). `resourceSubscriptions` is not honoured yet
//! (left out of the acknowledgement). Every notification carries the subscription id (the
//! listen request's JSON-RPC id) in `params._meta`. The stream stays open, with keep-alive
//! comments, until the client goes away; nothing is kept per stream but its filter.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use mcp_gateway_catalog::ListKind;
use mcp_gateway_protocol::Message;
use serde_json::{Map, Value, json, value::RawValue};
use tokio_stream::wrappers::BroadcastStream;

use crate::BrokerState;
use crate::stream::GatewayEvent;

/// `_meta` key naming the subscription a notification belongs to.
pub(crate) const SUBSCRIPTION_ID_META: &str = "io.modelcontextprotocol/subscriptionId";
/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The filter members the gateway honours, and the list each follows.
const HONOURED: [(&str, ListKind); 3] = [
    ("toolsListChanged", ListKind::Tools),
    ("promptsListChanged", ListKind::Prompts),
    ("resourcesListChanged", ListKind::Resources),
];

/// The event stream answering a `subscriptions/listen` request (`id`: its raw JSON id).
pub(crate) fn listen(state: &BrokerState, msg: &Message<'_>, id: &str) -> Response {
    let asked: Map<String, Value> = msg
        .param_raw(&["notifications"])
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or_default();
    let honoured: Vec<(&str, ListKind)> = HONOURED
        .into_iter()
        .filter(|(key, _)| asked.get(*key) == Some(&Value::Bool(true)))
        .collect();
    // The id as the client wrote it (a string or a number); a malformed one cannot reach here.
    let subscription: Value = RawValue::from_string(id.to_owned())
        .ok()
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null);
    let meta = json!({ SUBSCRIPTION_ID_META: subscription });
    let filter: Map<String, Value> = honoured
        .iter()
        .map(|(key, _)| ((*key).to_owned(), Value::Bool(true)))
        .collect();
    let ack = json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": { "notifications": filter, "_meta": meta },
    })
    .to_string();
    let changes = BroadcastStream::new(state.streams.gateway_events()).flat_map(move |event| {
        let notes: Vec<String> = match event {
            Ok(GatewayEvent::ListChanged(kind)) => {
                let kind = match kind {
                    ListKind::ResourceTemplates => ListKind::Resources,
                    kind => kind,
                };
                honoured
                    .iter()
                    .filter(|(_, k)| *k == kind)
                    .map(|(_, k)| notification(*k, &meta))
                    .collect()
            }
            // Lagged behind, so a change may have been missed: every chosen list may have
            // changed.
            Err(_) => honoured
                .iter()
                .map(|(_, k)| notification(*k, &meta))
                .collect(),
        };
        futures::stream::iter(notes)
    });
    let events = futures::stream::once(std::future::ready(ack))
        .chain(changes)
        .map(|data| Ok::<_, Infallible>(SseEvent::default().data(data)));
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// The notification that `kind` changed, tagged with the subscription.
fn notification(kind: ListKind, meta: &Value) -> String {
    let method = match kind {
        ListKind::Tools => "notifications/tools/list_changed",
        ListKind::Prompts => "notifications/prompts/list_changed",
        ListKind::Resources | ListKind::ResourceTemplates => "notifications/resources/list_changed",
    };
    json!({ "jsonrpc": "2.0", "method": method, "params": { "_meta": meta } }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_carry_the_subscription() {
        let meta = json!({ SUBSCRIPTION_ID_META: "sub-1" });
        let note: Value = serde_json::from_str(&notification(ListKind::Prompts, &meta)).unwrap();
        assert_eq!(note["method"], "notifications/prompts/list_changed");
        assert_eq!(note["params"]["_meta"][SUBSCRIPTION_ID_META], "sub-1");
    }
}
