//! Deciding a task's isolation (pure): the request and what was read become a plan.

use std::collections::BTreeMap;

use super::action::TaskAction;
use super::config::TaskConfig;
use super::observe::TaskFacts;
use super::request::{SkipReason, TaskRequest};
use crate::aws::isolation::VpcGroups;
use crate::case::case_id_for;
use crate::engine::{triage, Decision, Plan, Planned};
use crate::quarantine::plan::{ensure_groups_step, isolate_step};
use crate::tags;

pub type TaskDecision = Decision<TaskAction, SkipReason>;

pub fn decide(
    request: &TaskRequest,
    facts: &TaskFacts,
    groups: &BTreeMap<String, VpcGroups>,
    config: &TaskConfig,
    now: &str,
) -> TaskDecision {
    let common = &config.quarantine.common;
    let exempt = triage::exempt(common, "the task", &facts.task.tags)
        .or_else(|| triage::exempt(common, "the task's cluster", &facts.cluster_tags));
    if let Some(skip) = exempt {
        return Decision::Skip(SkipReason::Triage(skip));
    }
    if matches!(facts.task.last_status.as_str(), "STOPPED" | "DELETED" | "DEPROVISIONING" | "STOPPING") {
        return Decision::Skip(SkipReason::TaskGone { status: facts.task.last_status.clone() });
    }
    let task_tags = &facts.task.tags;
    let open = tags::open_case(task_tags).is_some();
    let released = !open && task_tags.contains_key(tags::RELEASED_CASE);
    let case_id = tags::open_case(task_tags).cloned().unwrap_or_else(|| case_id_for(&request.signal.id));
    let task_arn = facts.task.task_arn.clone();
    let cluster = request.task.cluster.clone();
    let mut steps = Vec::new();

    match &facts.interface {
        Some(eni) => {
            steps.push(ensure_groups_step(&eni.vpc_id, groups, &config.quarantine).map(TaskAction::Network));
            steps.push(isolate_step(eni, groups, &config.quarantine, released, None).map(TaskAction::Network));
        }
        None => steps.push(Planned::act(TaskAction::IsolateWithoutInterface {
            task_arn: task_arn.clone(),
            network_mode: facts.network_mode.clone().unwrap_or_else(|| "bridge or host".into()),
        })),
    }

    // Only a service scales tasks in; UpdateTaskProtection refuses a task started by RunTask.
    let in_service = facts.task.group.as_deref().is_some_and(|g| g.starts_with("service:"));
    steps.push(Planned::unless(
        TaskAction::ProtectTask { cluster: cluster.clone(), task_arn: task_arn.clone() },
        !in_service,
        || "not a service's task: nothing scales it in".into(),
    ));

    let mut case_tags = vec![(tags::CASE.to_string(), case_id.clone())];
    if !open {
        case_tags.push((tags::FINDING_ID.to_string(), request.signal.id.clone()));
        case_tags
            .push((tags::FINDING_TYPE.to_string(), request.signal.kind.chars().take(tags::MAX_VALUE_LEN).collect()));
        case_tags.push((tags::QUARANTINED_AT.to_string(), now.to_string()));
    }
    let missing: Vec<(String, String)> = case_tags.into_iter().filter(|(k, v)| task_tags.get(k) != Some(v)).collect();
    let nothing_missing = missing.is_empty();
    steps.push(Planned::unless(
        TaskAction::TagTask { task_arn: task_arn.clone(), tags: missing },
        nothing_missing,
        || "already tagged with the case".into(),
    ));

    if config.stop_task {
        steps.push(Planned::act(TaskAction::StopTask { cluster, task_arn: task_arn.clone() }));
    }
    Decision::Act(Plan { title: format!("isolate task {task_arn}"), case_id, steps })
}
