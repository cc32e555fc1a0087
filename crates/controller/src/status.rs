//! `MCPServer` status: the desired status of a [`ServerPlan`] and whether the
//! object already has it.

use jiff::Timestamp;

use crate::crd::{Condition, MCPServerStatus};
use crate::plan::ServerPlan;

/// The condition type the controller maintains.
pub const READY: &str = "Ready";

/// The status to write for `plan`. `lastTransitionTime` is kept from `current`
/// while the condition's `status` stays the same, and is `now` otherwise.
pub fn desired_status(
    plan: &ServerPlan,
    current: Option<&MCPServerStatus>,
    now: Timestamp,
) -> MCPServerStatus {
    let status = if plan.is_ready() { "True" } else { "False" };
    let previous = current.and_then(ready_condition);
    let last_transition_time = match previous {
        Some(previous) if previous.status == status => previous.last_transition_time.clone(),
        _ => rfc3339(now),
    };
    MCPServerStatus {
        observed_generation: plan.generation,
        conditions: vec![Condition {
            type_: READY.to_owned(),
            status: status.to_owned(),
            reason: plan.outcome.reason.as_str().to_owned(),
            message: plan.outcome.message.clone(),
            observed_generation: plan.generation,
            last_transition_time,
        }],
        targets: plan.targets.clone(),
    }
}

/// Whether writing `desired` would change `current`.
pub fn needs_update(current: Option<&MCPServerStatus>, desired: &MCPServerStatus) -> bool {
    current != Some(desired)
}

/// The `Ready` condition of a status.
pub fn ready_condition(status: &MCPServerStatus) -> Option<&Condition> {
    status.conditions.iter().find(|c| c.type_ == READY)
}

/// `2024-05-01T12:00:00Z`: truncated to whole seconds, as Kubernetes writes `metav1.Time`.
pub(crate) fn rfc3339(now: Timestamp) -> String {
    Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::TargetStatus;
    use crate::reason::{Problem, Reason};

    fn plan(reason: Reason) -> ServerPlan {
        ServerPlan {
            namespace: "team-a".to_owned(),
            name: "tools".to_owned(),
            generation: Some(3),
            outcome: Problem::new(reason, "because"),
            targets: vec![TargetStatus {
                name: "weather".to_owned(),
                namespace: "team-a".to_owned(),
                ready: reason.is_ready(),
                reason: reason.as_str().to_owned(),
                message: None,
                server_name: None,
                url: None,
                hostname: None,
                discovered_tools: None,
            }],
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn new_status_has_ready_condition_with_generation_and_time() {
        let status = desired_status(&plan(Reason::Published), None, at("2025-01-02T03:04:05.6Z"));
        assert_eq!(status.observed_generation, Some(3));
        let ready = ready_condition(&status).expect("Ready condition");
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason, "Published");
        assert_eq!(ready.observed_generation, Some(3));
        assert_eq!(ready.last_transition_time, "2025-01-02T03:04:05Z");
        assert_eq!(status.targets.len(), 1);
    }

    #[test]
    fn transition_time_kept_while_status_unchanged() {
        let first = desired_status(
            &plan(Reason::RouteNotFound),
            None,
            at("2025-01-01T00:00:00Z"),
        );
        let later = at("2025-01-01T01:00:00Z");
        let again = desired_status(&plan(Reason::NoHostname), Some(&first), later);
        assert_eq!(
            ready_condition(&again).map(|c| c.last_transition_time.as_str()),
            Some("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            ready_condition(&again).map(|c| c.reason.as_str()),
            Some("NoHostname")
        );
        let flipped = desired_status(&plan(Reason::Published), Some(&first), later);
        assert_eq!(
            ready_condition(&flipped).map(|c| c.last_transition_time.as_str()),
            Some("2025-01-01T01:00:00Z")
        );
    }

    #[test]
    fn no_update_when_nothing_changed() {
        let now = at("2025-01-01T00:00:00Z");
        let current = desired_status(&plan(Reason::Published), None, now);
        let desired = desired_status(
            &plan(Reason::Published),
            Some(&current),
            at("2025-06-01T00:00:00Z"),
        );
        assert!(!needs_update(Some(&current), &desired));
        assert!(needs_update(None, &desired));
        let other = desired_status(&plan(Reason::PrefixConflict), Some(&current), now);
        assert!(needs_update(Some(&current), &other));
    }
}
