//! The containment plan of a Lambda function: what was read, the actions and their phases, and
//! the pure [`decide`].

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_ec2::primitives::DateTime;
use serde::Serialize;

use super::request::{LambdaRequest, LambdaSkip};
use crate::case::case_id_for;
use crate::engine::{self, CommonConfig, Decision, Plan, Planned};
use crate::policy;
use crate::revoke::sessions_already_revoked;
use crate::tags;

/// What was read about the function and its execution role before deciding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LambdaFacts {
    pub function_arn: String,
    pub tags: BTreeMap<String, String>,
    /// Reserved concurrency now; `None`: no reservation.
    pub reserved_concurrency: Option<i32>,
    /// The execution role from the function's configuration; `None` when it no longer exists.
    pub role: Option<RoleFacts>,
    /// The member role Firebreak acts through in this account: never revoked.
    pub member_role_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleFacts {
    pub role_name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    /// The cutoff of Firebreak's session-revoking policy already on the role.
    pub revoked_before: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LambdaPhase {
    /// The function stops running and its role's sessions die, side by side.
    Contain,
    Preserve,
}

impl engine::Phase for LambdaPhase {
    fn stage(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum LambdaAction {
    /// Records `previous` (tag, then case) and the case on the function, then reserves 0.
    StopInvocations {
        function_name: String,
        function_arn: String,
        previous: Option<i32>,
        case_id: String,
    },
    /// The cutoff is taken when the step runs.
    RevokeRoleSessions {
        role_name: String,
    },
    TagFunction {
        function_arn: String,
        tags: Vec<(String, String)>,
    },
}

impl engine::Action for LambdaAction {
    type Phase = LambdaPhase;

    fn name(&self) -> &'static str {
        match self {
            Self::StopInvocations { .. } => "put_function_concurrency",
            Self::RevokeRoleSessions { .. } => "revoke_sessions",
            Self::TagFunction { .. } => "tag_function",
        }
    }

    fn phase(&self) -> LambdaPhase {
        match self {
            Self::StopInvocations { .. } | Self::RevokeRoleSessions { .. } => LambdaPhase::Contain,
            Self::TagFunction { .. } => LambdaPhase::Preserve,
        }
    }

    fn resource(&self) -> String {
        match self {
            Self::StopInvocations { function_name, .. } => function_resource(function_name),
            Self::RevokeRoleSessions { role_name } => format!("role/{role_name}"),
            Self::TagFunction { function_arn, .. } => function_arn.clone(),
        }
    }

    fn is_containment(&self) -> bool {
        !matches!(self, Self::TagFunction { .. })
    }
}

/// How a function is named in the case ledger (as `user/…` and `role/…` for principals).
pub fn function_resource(function_name: &str) -> String {
    format!("function/{function_name}")
}

/// The record of a reservation: the number, or `none`.
pub fn concurrency_record(reserved: Option<i32>) -> String {
    reserved.map(|n| n.to_string()).unwrap_or_else(|| tags::NO_RESERVED_CONCURRENCY.to_string())
}

/// Reads a record back: `Some(None)` is "no reservation", `None` an unreadable value.
pub fn parse_concurrency_record(text: &str) -> Option<Option<i32>> {
    if text == tags::NO_RESERVED_CONCURRENCY {
        return Some(None);
    }
    text.parse::<i32>().ok().filter(|n| *n >= 0).map(Some)
}

impl fmt::Display for LambdaAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StopInvocations { function_name, previous, .. } => write!(
                f,
                "record reserved concurrency {} of {function_name}, then reserve 0: no invocation runs (nothing deleted)",
                concurrency_record(*previous)
            ),
            Self::RevokeRoleSessions { role_name } => write!(
                f,
                "attach {} to role {role_name}: deny every request signed with credentials issued before now",
                policy::REVOKE_SESSIONS_POLICY
            ),
            Self::TagFunction { function_arn, tags } => write!(
                f,
                "tag {function_arn} with {}",
                tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

pub type LambdaPlan = Plan<LambdaAction>;

/// Turns a request and what was read into a decision. Pure.
pub fn decide(
    request: &LambdaRequest,
    facts: &LambdaFacts,
    config: &CommonConfig,
    now: DateTime,
) -> Decision<LambdaAction, LambdaSkip> {
    let name = &request.function.function_name;
    if let Some(skip) = engine::triage::exempt(config, &format!("function {name}"), &facts.tags) {
        return Decision::Skip(LambdaSkip::Triage(skip));
    }
    let open_case = tags::open_case(&facts.tags).cloned();
    let case_id = open_case.clone().unwrap_or_else(|| case_id_for(&request.signal.id));
    // Under an open case the function's own record is the truth: its concurrency is ours now.
    let recorded = open_case
        .and(facts.tags.get(tags::RESERVED_CONCURRENCY_BEFORE))
        .and_then(|text| parse_concurrency_record(text));
    let previous = recorded.unwrap_or(facts.reserved_concurrency);
    let stop = LambdaAction::StopInvocations {
        function_name: name.clone(),
        function_arn: facts.function_arn.clone(),
        previous,
        case_id: case_id.clone(),
    };
    let mut steps = vec![match (facts.reserved_concurrency, recorded) {
        (Some(0), Some(_)) => Planned::skip(stop, "reserved concurrency is 0 already (this case)"),
        (Some(0), None) => {
            Planned::skip(stop, "reserved concurrency was 0 before the case: nothing runs, nothing to restore")
        }
        _ => Planned::act(stop),
    }];

    if let Some(role) = &facts.role {
        let action = LambdaAction::RevokeRoleSessions { role_name: role.role_name.clone() };
        let skip =
            if role.role_name.eq_ignore_ascii_case(&facts.member_role_name) || role.arn.contains(":role/firebreak/") {
                Some(format!(
                    "role {} is Firebreak's own (the member role or a /firebreak/ role): never revoked",
                    role.role_name
                ))
            } else if let Some(skip) = engine::triage::exempt(config, &format!("role {}", role.role_name), &role.tags) {
                Some(skip.to_string())
            } else {
                sessions_already_revoked(role.revoked_before.as_deref(), request.signal.time.as_deref(), now)
            };
        steps.push(Planned { action, skip });
    }

    let mut wanted = vec![
        (tags::CASE.to_string(), case_id.clone()),
        (tags::FINDING_ID.to_string(), truncate(&request.signal.id)),
        (tags::FINDING_TYPE.to_string(), truncate(&request.signal.kind)),
    ];
    // A later signal joining an open case does not overwrite the first one's finding tags; the
    // same signal redelivered after a crash completes them.
    if tags::open_case(&facts.tags).is_some_and(|open| *open != case_id_for(&request.signal.id)) {
        wanted.retain(|(k, _)| k == tags::CASE);
    }
    let missing: Vec<(String, String)> = wanted.into_iter().filter(|(k, v)| facts.tags.get(k) != Some(v)).collect();
    steps.push(Planned::unless(
        LambdaAction::TagFunction { function_arn: facts.function_arn.clone(), tags: missing.clone() },
        missing.is_empty(),
        || "already tagged with the case".into(),
    ));
    Decision::Act(Plan { title: format!("contain Lambda function {name}"), case_id, steps })
}

/// Lambda tag values hold at most 256 characters.
fn truncate(value: &str) -> String {
    value.chars().take(tags::MAX_VALUE_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Action, Signal};
    use crate::events::lambda::LambdaFunction;

    fn request() -> LambdaRequest {
        LambdaRequest {
            signal: Signal { id: "f1".into(), kind: "Backdoor:Lambda/C&CActivity.B".into(), ..Signal::default() },
            function: LambdaFunction {
                function_name: "thumbnailer".into(),
                function_arn: "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer".into(),
                function_version: None,
                role_arn: None,
                last_modified_at: None,
            },
        }
    }

    fn facts(reserved: Option<i32>, tags: &[(&str, &str)]) -> LambdaFacts {
        LambdaFacts {
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer".into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            reserved_concurrency: reserved,
            role: Some(RoleFacts {
                role_name: "thumbnailer-role".into(),
                arn: "arn:aws:iam::123456789012:role/thumbnailer-role".into(),
                tags: BTreeMap::new(),
                revoked_before: None,
            }),
            member_role_name: "FirebreakMember".into(),
        }
    }

    fn plan(facts: &LambdaFacts) -> LambdaPlan {
        match decide(&request(), facts, &CommonConfig::default(), DateTime::from_secs(1_800_000_000)) {
            Decision::Act(plan) => plan,
            Decision::Skip(skip) => panic!("skipped: {skip}"),
        }
    }

    #[test]
    fn the_previous_reservation_is_planned_and_kept_on_redelivery() {
        let first = plan(&facts(Some(25), &[]));
        assert!(first.steps.iter().all(|s| s.skip.is_none()), "{first}");
        assert!(matches!(first.steps[0].action, LambdaAction::StopInvocations { previous: Some(25), .. }));
        let case = first.case_id.clone();
        // After a crash between the record and the change, the record (not the 0) is the previous value.
        let again = plan(&facts(Some(0), &[(tags::CASE, &case), (tags::RESERVED_CONCURRENCY_BEFORE, "25")]));
        assert!(again.steps[0].skip.is_some());
        assert!(matches!(again.steps[0].action, LambdaAction::StopInvocations { previous: Some(25), .. }));
        let unreserved = plan(&facts(None, &[]));
        assert!(matches!(unreserved.steps[0].action, LambdaAction::StopInvocations { previous: None, .. }));
        let throttled = plan(&facts(Some(0), &[]));
        assert!(throttled.steps[0].skip.as_deref().unwrap().contains("before the case"));
    }

    #[test]
    fn exempt_functions_and_firebreak_roles_are_left_alone() {
        let exempt = decide(
            &request(),
            &facts(None, &[("firebreak:exempt", "")]),
            &CommonConfig::default(),
            DateTime::from_secs(0),
        );
        assert!(matches!(exempt, Decision::Skip(_)));
        let mut member = facts(None, &[]);
        member.role.as_mut().unwrap().role_name = "FirebreakMember".into();
        let steps = plan(&member).steps;
        let revoke = steps.iter().find(|s| s.action.name() == "revoke_sessions").unwrap();
        assert!(revoke.skip.as_deref().unwrap().contains("Firebreak's own"));
    }
}
