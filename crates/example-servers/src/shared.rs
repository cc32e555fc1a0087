//! What every MCP session of one server process shares, and the request
//! handling both servers have in common: paged lists, `logging/setLevel`,
//! `notifications/cancelled` and the capabilities they declare.
//!
//! rmcp marks logging and `resources/subscribe` deprecated for protocol
//! 2026-07-28 (SEP-2577); the revisions the gateway speaks still have both.
#![allow(deprecated)]

use std::sync::Arc;

use rmcp::{
    ErrorData,
    model::{
        CancelledNotificationParam, CompleteResult, CompletionInfo, ListPromptsResult,
        ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
        PaginatedRequestParams, Prompt, Resource, ResourceTemplate, ServerCapabilities,
        SetLevelRequestParams, Tool,
    },
};
use serde_json::{Value, json};

use crate::{
    pagination::{Page, Pager},
    stats::Stats,
};

/// State shared by all sessions of one server: its counters and its page size.
#[derive(Debug, Clone)]
pub struct Shared {
    stats: Arc<Stats>,
    pager: Pager,
}

impl Shared {
    /// Sessions that record into `stats` and page their lists with `pager`.
    pub fn new(stats: Arc<Stats>, pager: Pager) -> Self {
        Self { stats, pager }
    }

    /// The process-wide counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The page of `tools` a `tools/list` request asks for.
    pub fn tools(
        &self,
        tools: Vec<Tool>,
        request: Option<&PaginatedRequestParams>,
    ) -> Result<ListToolsResult, ErrorData> {
        let Page { items, next_cursor } = self.pager.page(tools, request)?;
        let mut result = ListToolsResult::with_all_items(items);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    /// The page of `prompts` a `prompts/list` request asks for.
    pub fn prompts(
        &self,
        prompts: Vec<Prompt>,
        request: Option<&PaginatedRequestParams>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let Page { items, next_cursor } = self.pager.page(prompts, request)?;
        let mut result = ListPromptsResult::with_all_items(items);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    /// The page of `resources` a `resources/list` request asks for.
    pub fn resources(
        &self,
        resources: Vec<Resource>,
        request: Option<&PaginatedRequestParams>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let Page { items, next_cursor } = self.pager.page(resources, request)?;
        let mut result = ListResourcesResult::with_all_items(items);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    /// The page of `templates` a `resources/templates/list` request asks for.
    pub fn resource_templates(
        &self,
        templates: Vec<ResourceTemplate>,
        request: Option<&PaginatedRequestParams>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let Page { items, next_cursor } = self.pager.page(templates, request)?;
        let mut result = ListResourceTemplatesResult::with_all_items(items);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    /// `resources/subscribe` of `uri`, a resource of this server when `exists`.
    /// Accepted and counted; the resources never change, so no update ever follows.
    pub fn subscribe(&self, uri: &str, exists: bool) -> Result<(), ErrorData> {
        if !exists {
            return Err(resource_not_found(uri));
        }
        self.stats.record_subscribe();
        Ok(())
    }

    /// `resources/unsubscribe` of `uri`, a resource of this server when `exists`.
    pub fn unsubscribe(&self, uri: &str, exists: bool) -> Result<(), ErrorData> {
        if !exists {
            return Err(resource_not_found(uri));
        }
        self.stats.record_unsubscribe();
        Ok(())
    }

    /// `logging/setLevel`: remembers the level (in `/stats`).
    pub fn set_level(&self, request: &SetLevelRequestParams) {
        self.stats.record_log_level(level_name(request.level));
    }

    /// `notifications/cancelled`: counted with the request id it names. rmcp itself
    /// cancels the named request when it is still running.
    pub fn cancelled(&self, notification: &CancelledNotificationParam) {
        let request_id = notification
            .request_id
            .as_ref()
            .and_then(|id| serde_json::to_value(id).ok());
        self.stats.record_cancellation(request_id);
    }
}

/// The level's name on the wire (RFC 5424 severities, lower case).
fn level_name(level: LoggingLevel) -> &'static str {
    match level {
        LoggingLevel::Debug => "debug",
        LoggingLevel::Info => "info",
        LoggingLevel::Notice => "notice",
        LoggingLevel::Warning => "warning",
        LoggingLevel::Error => "error",
        LoggingLevel::Critical => "critical",
        LoggingLevel::Alert => "alert",
        LoggingLevel::Emergency => "emergency",
    }
}

/// What both servers offer: tools, prompts, resources with subscriptions,
/// completions and logging.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities::builder()
        .enable_tools()
        .enable_prompts()
        .enable_resources()
        .enable_resources_subscribe()
        .enable_completions()
        .enable_logging()
        .build()
}

/// The candidates that start with `typed`, ignoring case, in their given order.
pub fn completion(candidates: &[&str], typed: &str) -> Result<CompleteResult, ErrorData> {
    let typed = typed.to_lowercase();
    let values = candidates
        .iter()
        .filter(|candidate| candidate.to_lowercase().starts_with(&typed))
        .map(|candidate| (*candidate).to_owned())
        .collect();
    let completion = CompletionInfo::with_all_values(values)
        .map_err(|error| ErrorData::internal_error(error, None))?;
    Ok(CompleteResult::new(completion))
}

/// The error for a completion reference naming no prompt or template of this server.
pub fn unknown_reference() -> ErrorData {
    ErrorData::invalid_params(
        "completion/complete: the reference names no prompt or resource template of this server",
        None,
    )
}

/// The error for a URI naming no resource of this server.
pub fn resource_not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(format!("no resource {uri:?}"), Some(json!({ "uri": uri })))
}

/// The value of the single `{variable}` of a template `prefix{variable}` in `uri`:
/// one non-empty path segment without query or fragment.
pub fn template_variable<'a>(prefix: &str, uri: &'a str) -> Option<&'a str> {
    let value = uri.strip_prefix(prefix)?;
    let plain = !value.is_empty() && !value.contains(['/', '?', '#']);
    plain.then_some(value)
}

/// JSON text of `value` for a resource body.
pub fn json_text(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use rmcp::model::{ErrorCode, NumberOrString};

    use super::*;

    #[test]
    fn records_levels_and_cancellations() {
        let shared = Shared::new(Arc::new(Stats::new("text")), Pager::default());
        shared.set_level(&SetLevelRequestParams::new(LoggingLevel::Warning));
        shared.set_level(&SetLevelRequestParams::new(LoggingLevel::Debug));
        shared.cancelled(&CancelledNotificationParam::new(
            Some(NumberOrString::Number(42)),
            Some("user".to_owned()),
        ));
        let stats = shared.stats().snapshot();
        assert_eq!(stats.log_level.as_deref(), Some("debug"));
        assert_eq!(stats.cancellations, 1);
        assert_eq!(stats.last_cancelled_request, Some(json!(42)));
    }

    #[test]
    fn level_names_match_the_wire_format() {
        for level in [
            LoggingLevel::Debug,
            LoggingLevel::Info,
            LoggingLevel::Notice,
            LoggingLevel::Warning,
            LoggingLevel::Error,
            LoggingLevel::Critical,
            LoggingLevel::Alert,
            LoggingLevel::Emergency,
        ] {
            assert_eq!(json!(level), json!(level_name(level)));
        }
    }

    #[test]
    fn completes_by_case_insensitive_prefix() {
        let values = |typed| {
            completion(&["French", "Finnish", "German"], typed)
                .expect("completes")
                .completion
                .values
        };
        assert_eq!(values("f"), ["French", "Finnish"]);
        assert_eq!(values("FR"), ["French"]);
        assert_eq!(values(""), ["French", "Finnish", "German"]);
        assert!(values("x").is_empty());
    }

    #[test]
    fn extracts_template_variables() {
        let prefix = "text://words/";
        assert_eq!(
            template_variable(prefix, "text://words/hello"),
            Some("hello")
        );
        for bad in [
            "text://words/",
            "text://words/a/b",
            "text://words/a?b",
            "text://other/a",
        ] {
            assert_eq!(template_variable(prefix, bad), None, "{bad}");
        }
    }

    #[test]
    fn errors_have_the_spec_codes() {
        assert_eq!(unknown_reference().code, ErrorCode::INVALID_PARAMS);
        assert_eq!(
            resource_not_found("x:y").code,
            ErrorCode::RESOURCE_NOT_FOUND
        );
    }
}
