//! An ECS task's release: its ENI goes back with the other loose ENIs (`observe`), the scale-in
//! protection Firebreak turned on is turned off, so its service may replace it again (a
//! protection the task had before the case, with no `firebreak:task-protection-before` record,
//! stays), and the task is tagged released, so that a later finding about it opens a new case.

use std::collections::BTreeMap;

use super::action::ReleaseAction;
use super::plan::{released_tags, Choices};
use crate::aws::{ecs, AwsError};
use crate::cases::Case;
use crate::engine::Planned;
use crate::tags;

/// One task the case touched, as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskNow {
    pub task_arn: String,
    pub cluster: String,
    /// ECS still knows it, and it is not stopping or stopped.
    pub running: bool,
    pub last_status: String,
    /// Its tags: the record that travels with it, read when the ledger lacks a value.
    pub tags: BTreeMap<String, String>,
    pub protected: bool,
}

/// The ECS tasks a case touched: its own resource and anything it recorded on, when they are
/// task ARNs that name their cluster.
pub fn tasks_of(case: &Case) -> Vec<String> {
    let mut arns: Vec<String> = case.recorded().into_keys().chain([case.resource.clone()]).collect();
    arns.retain(|arn| ecs::cluster_of_task_arn(arn).is_some());
    arns.sort();
    arns.dedup();
    arns
}

/// Each task as ECS has it now: its status, tags and protection.
pub async fn observe(client: &aws_sdk_ecs::Client, case: &Case) -> Result<Vec<TaskNow>, AwsError> {
    let mut tasks = Vec::new();
    for task_arn in tasks_of(case) {
        let cluster = ecs::cluster_of_task_arn(&task_arn).unwrap_or_default().to_string();
        let Some(record) = ecs::describe_task(client, &cluster, &task_arn).await? else {
            let gone = TaskNow {
                task_arn,
                cluster,
                running: false,
                last_status: "not found".into(),
                tags: BTreeMap::new(),
                protected: false,
            };
            tasks.push(gone);
            continue;
        };
        let running = !matches!(record.last_status.as_str(), "STOPPED" | "DELETED" | "DEPROVISIONING" | "STOPPING");
        let protected = running && ecs::task_protected(client, &cluster, &task_arn).await?;
        tasks.push(TaskNow {
            task_arn,
            cluster,
            running,
            last_status: record.last_status,
            tags: record.tags,
            protected,
        });
    }
    Ok(tasks)
}

/// The protection Firebreak turned on, turned off; the task marked released.
pub fn task_steps(
    task: &TaskNow,
    ledger: Option<&BTreeMap<String, String>>,
    choices: &Choices,
) -> Vec<Planned<ReleaseAction>> {
    let mut steps: Vec<Planned<ReleaseAction>> = unprotect_step(task, ledger).into_iter().collect();
    let tag = ReleaseAction::TagTaskReleased { task_arn: task.task_arn.clone(), tags: released_tags(choices) };
    steps.push(Planned::unless(tag, !task.running, || format!("the task is {}: nothing to mark", task.last_status)));
    steps
}

/// The protection Firebreak turned on, turned off; nothing for a task it did not protect.
fn unprotect_step(task: &TaskNow, ledger: Option<&BTreeMap<String, String>>) -> Option<Planned<ReleaseAction>> {
    let key = tags::TASK_PROTECTION_BEFORE;
    let before = ledger.and_then(|l| l.get(key)).or_else(|| task.tags.get(key))?;
    if before != "false" {
        return None;
    }
    let action = ReleaseAction::UnprotectTask { cluster: task.cluster.clone(), task_arn: task.task_arn.clone() };
    Some(if !task.running {
        Planned::skip(action, format!("the task is {}: nothing to put back", task.last_status))
    } else if !task.protected {
        Planned::skip(action, "scale-in protection is off already (it expires 48 hours after the case)")
    } else {
        Planned::act(action)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task/payments/7c3f2e1d0b9a48c6a5f4e3d2c1b0a998";

    fn task(protected: bool, running: bool, tags: &[(&str, &str)]) -> TaskNow {
        TaskNow {
            task_arn: ARN.into(),
            cluster: "payments".into(),
            running,
            last_status: if running { "RUNNING" } else { "STOPPED" }.into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            protected,
        }
    }

    #[test]
    fn only_the_protection_firebreak_turned_on_is_turned_off() {
        let ours = [(tags::TASK_PROTECTION_BEFORE, "false")];
        let step = unprotect_step(&task(true, true, &ours), None).expect("a step");
        assert_eq!(step.skip, None);
        assert_eq!(step.action.to_string(), format!("turn off the scale-in protection Firebreak put on {ARN}"));
        assert_eq!(unprotect_step(&task(true, true, &[]), None), None, "protected before the case: left");
        let ledger = BTreeMap::from([(tags::TASK_PROTECTION_BEFORE.to_string(), "false".to_string())]);
        assert!(unprotect_step(&task(true, true, &[]), Some(&ledger)).is_some_and(|s| s.skip.is_none()));
        assert!(unprotect_step(&task(false, true, &ours), None).is_some_and(|s| s.skip.is_some()), "expired");
        assert!(unprotect_step(&task(false, false, &ours), None).is_some_and(|s| s.skip.is_some()), "stopped");
    }

    #[test]
    fn task_arns_name_their_cluster() {
        assert_eq!(ecs::cluster_of_task_arn(ARN), Some("payments"));
        for other in [
            "arn:aws:ecs:us-east-1:123456789012:task/7c3f2e1d0b9a48c6a5f4e3d2c1b0a998",
            "eni-0123456789abcdef0",
            "i-0123456789abcdef0",
            "arn:aws:ecs:us-east-1:123456789012:task/pay/ments/x",
            "arn:aws:ecs:us-east-1:123456789012:task/../x",
        ] {
            assert_eq!(ecs::cluster_of_task_arn(other), None, "{other}");
        }
    }
}
