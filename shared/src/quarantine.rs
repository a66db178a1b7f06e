//! Carries out a quarantine: read, decide ([`crate::plan`]), then act phase by phase.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use futures::channel::oneshot;
use futures::future::join_all;
use thiserror::Error;

use crate::attempts::recording_retries;
use crate::aws::{AwsError, Clients};
use crate::config::QuarantineConfig;
use crate::deadline::Deadline;
use crate::ec2::{self, IsolationGroupIds, SnapshotOutcome};
use crate::events::{EventError, GuardDutyFinding};
use crate::fleet;
use crate::plan::{self, Action, Decision, InstanceFacts, Phase, PlannedStep, QuarantineRequest, VpcGroups};
use crate::report::{self, millis, timestamp, Outcome, Report, StepOutcome, StepReport, Tally};
use crate::tags;

#[derive(Debug, Error)]
pub enum QuarantineError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("instance {instance_id} does not exist in account {account_id} region {region}")]
    InstanceNotFound { instance_id: String, account_id: String, region: String },
    #[error("could not read the instance: {0}")]
    Read(#[from] AwsError),
    #[error("the Lambda deadline came before the instance could be read; nothing was changed")]
    DeadlineBeforeRead,
}

/// Everything that was read about an instance before deciding.
pub struct Observed {
    pub facts: InstanceFacts,
    pub groups: BTreeMap<String, VpcGroups>,
}

/// Reads all the plan needs, in parallel: one round trip when the event names the VPCs.
pub async fn observe(
    clients: &Clients,
    config: &QuarantineConfig,
    request: &QuarantineRequest,
) -> Result<Observed, QuarantineError> {
    let instance_id = request.instance_id.as_str();
    // Only what containment and the plan need. What a step needs only for itself (termination
    // settings, earlier snapshots, the profile association) that step reads when it runs, once
    // the ENIs' moves are on their way. Boxed: SDK futures are large, and several side by side
    // would overflow a small thread stack.
    let (instance, interfaces, autoscaling_group, target_groups, groups) = tokio::join!(
        Box::pin(ec2::describe_instance(&clients.ec2, instance_id)),
        Box::pin(ec2::describe_interfaces(&clients.ec2, instance_id)),
        Box::pin(fleet::autoscaling_group_of(&clients.autoscaling, instance_id)),
        Box::pin(fleet::instance_target_groups(&clients.elbv2)),
        Box::pin(ec2::find_isolation_groups(&clients.ec2, &request.vpc_hints, &config.isolation_group_name)),
    );
    let Some(instance) = instance? else {
        return Err(QuarantineError::InstanceNotFound {
            instance_id: instance_id.to_string(),
            account_id: request.account_id.clone(),
            region: request.region.clone(),
        });
    };
    let interfaces = interfaces?;
    let mut groups = groups?;
    // The event's VPCs are a hint for speed; the instance's real interfaces decide.
    let unlooked: Vec<String> =
        interfaces.iter().map(|i| i.vpc_id.clone()).filter(|v| !groups.contains_key(v)).collect();
    if !unlooked.is_empty() {
        groups.extend(ec2::find_isolation_groups(&clients.ec2, &unlooked, &config.isolation_group_name).await?);
    }
    Ok(Observed {
        facts: InstanceFacts {
            instance_id: instance_id.to_string(),
            state: instance.state,
            network_interfaces: interfaces,
            volume_ids: instance.volume_ids,
            tags: instance.tags,
            autoscaling_group: autoscaling_group?,
            instance_profile_arn: instance.instance_profile_arn,
            target_group_arns: target_groups?,
        },
        groups,
    })
}

/// Quarantines the instance a GuardDuty finding names, unless triage says to leave it (sample,
/// low severity, TARGET role), which the report then explains.
pub async fn quarantine_finding(
    clients: &Clients,
    config: &QuarantineConfig,
    finding: &GuardDutyFinding,
    deadline: Deadline,
) -> Result<Report, QuarantineError> {
    let request = QuarantineRequest::from_finding(finding)?;
    if let Some(skip) = plan::triage(finding, config)? {
        let mut report = Report::new("quarantine-instance", &request, config.dry_run);
        report.reason = Some(skip.to_string());
        return Ok(report);
    }
    quarantine(clients, config, &request, deadline).await
}

/// Quarantines one instance. Returns a report in every case the function could act on, including
/// a partial one when the deadline comes first; an error only when the instance cannot be read
/// (unknown id, AWS refusing the reads, no time left to read).
pub async fn quarantine(
    clients: &Clients,
    config: &QuarantineConfig,
    request: &QuarantineRequest,
    deadline: Deadline,
) -> Result<Report, QuarantineError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut report = Report::new("quarantine-instance", request, config.dry_run);
    let (observed, read_retries) = recording_retries(deadline.run(Box::pin(observe(clients, config, request)))).await;
    let observed = observed.ok_or(QuarantineError::DeadlineBeforeRead)??;
    let decision = plan::decide(request, &observed.facts, &observed.groups, config, &timestamp(started));
    let quarantine_plan = match decision {
        Decision::Skip(skip) => {
            report.reason = Some(skip.to_string());
            report.duration_ms = millis(clock.elapsed());
            return Ok(report);
        }
        Decision::Quarantine(plan) => plan,
    };
    report.case_id = Some(quarantine_plan.case_id.clone());
    let mut read = StepReport::new("read_instance", &request.instance_id, StepOutcome::Done, observed.summary());
    read.duration_ms = millis(clock.elapsed());
    read.retries = read_retries;
    report::log_step(&quarantine_plan.case_id, &request.signal_id, &read);
    report.steps.push(read);
    tracing::info!(case_id = %quarantine_plan.case_id, finding_id = %request.signal_id, plan = %quarantine_plan, "plan");
    if config.dry_run {
        report.outcome = Outcome::Planned;
        report.steps.extend(quarantine_plan.steps.iter().map(|step| match &step.skip {
            Some(why) => StepReport::new(step.action.name(), step.action.resource(), StepOutcome::Skipped, why),
            None => StepReport::new(
                step.action.name(),
                step.action.resource(),
                StepOutcome::Planned,
                step.action.to_string(),
            ),
        }));
        report.duration_ms = millis(clock.elapsed());
        return Ok(report);
    }

    let mut executor = Executor {
        clients,
        config,
        group_ids: observed
            .groups
            .iter()
            .filter_map(|(vpc, g)| {
                Some((
                    vpc.clone(),
                    IsolationGroupIds {
                        isolation: g.isolation.as_ref()?.group_id.clone(),
                        untracking: g.untracking.as_ref().map(|u| u.group_id.clone()),
                    },
                ))
            })
            .collect(),
        deadline,
    };
    let mut tally = Tally::default();
    for stage in [&[Phase::Prepare][..], &[Phase::Contain, Phase::Preserve], &[Phase::Stop]] {
        let steps: Vec<&PlannedStep> =
            quarantine_plan.steps.iter().filter(|s| stage.contains(&s.action.phase())).collect();
        let held_back = if deadline.is_near() {
            Some("not started: the Lambda deadline is near; a retry of the event resumes here")
        } else if stage.contains(&Phase::Stop)
            && report.steps.iter().any(|s| {
                s.step == "snapshot_volumes" && s.outcome != StepOutcome::Done && s.outcome != StepOutcome::Skipped
            })
        {
            Some("not stopped: the snapshots did not complete, and evidence comes first")
        } else {
            None
        };
        let results = match held_back {
            Some(why) => steps
                .iter()
                .map(|s| {
                    let outcome = if s.skip.is_some() { StepOutcome::Skipped } else { StepOutcome::Failed };
                    (
                        StepReport::new(
                            s.action.name(),
                            s.action.resource(),
                            outcome,
                            s.skip.as_deref().unwrap_or(why),
                        ),
                        None,
                    )
                })
                .collect(),
            None => executor.run_isolation_first(&steps).await,
        };
        for (step, (result, created_groups)) in steps.iter().zip(results) {
            if let Some((vpc, ids)) = created_groups {
                executor.group_ids.insert(vpc, ids);
            }
            tally.record(step.action.is_containment(), &result);
            report::log_step(&quarantine_plan.case_id, &request.signal_id, &result);
            report.steps.push(result);
        }
    }
    report.outcome = tally.outcome();
    report.duration_ms = millis(clock.elapsed());
    Ok(report)
}

impl Observed {
    fn summary(&self) -> String {
        let facts = &self.facts;
        format!(
            "{}, {} ENI(s), {} volume(s), Auto Scaling group {}, instance profile {}",
            facts.state,
            facts.network_interfaces.len(),
            facts.volume_ids.len(),
            facts.autoscaling_group.as_deref().unwrap_or("none"),
            facts.instance_profile_arn.as_deref().unwrap_or("none"),
        )
    }
}

struct Executor<'a> {
    clients: &'a Clients,
    config: &'a QuarantineConfig,
    group_ids: BTreeMap<String, IsolationGroupIds>,
    deadline: Deadline,
}

type StepResult = (StepReport, Option<(String, IsolationGroupIds)>);

/// What a step found when it ran: it changed something, or what it reads showed nothing left to do
/// (an earlier delivery did it), which the report shows as a skip.
enum Acted {
    Done(String),
    AlreadyDone(String),
}

impl Executor<'_> {
    /// Runs the steps concurrently, but lets every other step start only once each ENI's move
    /// into the isolation group has been sent (or its step has ended). With AWS's latency that
    /// costs them no round trip: they start with that move, not after its answer. Without latency,
    /// where time is CPU time, containment no longer waits behind the signing and parsing of the
    /// preservation calls.
    async fn run_isolation_first(&self, steps: &[&PlannedStep]) -> Vec<StepResult> {
        let is_isolation = |step: &PlannedStep| matches!(step.action, Action::IsolateNetworkInterface { .. });
        let (sent, moves_sent): (Vec<_>, Vec<_>) =
            steps.iter().filter(|s| is_isolation(s)).map(|_| oneshot::channel::<()>()).unzip();
        let isolations =
            join_all(steps.iter().filter(|s| is_isolation(s)).zip(sent).map(|(step, sent)| self.run(step, Some(sent))));
        let others = async {
            // A dropped sender (a skipped, failed or cut-off step) opens the way as well.
            join_all(moves_sent).await;
            // The moves sit with their connections' tasks: let those write them before this task
            // signs anything else (on a single-threaded runtime they would otherwise wait).
            tokio::task::yield_now().await;
            join_all(steps.iter().filter(|s| !is_isolation(s)).map(|step| self.run(step, None))).await
        };
        let (isolations, others) = futures::future::join(isolations, others).await;
        let (mut isolations, mut others) = (isolations.into_iter(), others.into_iter());
        steps.iter().filter_map(|step| if is_isolation(step) { isolations.next() } else { others.next() }).collect()
    }

    /// `moving`: told when the step's move into the isolation group has been sent.
    async fn run(&self, step: &PlannedStep, moving: Option<oneshot::Sender<()>>) -> StepResult {
        let clock = Instant::now();
        let mut created = None;
        let mut report = match &step.skip {
            Some(why) => StepReport::new(step.action.name(), step.action.resource(), StepOutcome::Skipped, why),
            None => {
                let (result, retries) =
                    recording_retries(self.deadline.run(Box::pin(self.act(&step.action, &mut created, moving)))).await;
                let (outcome, detail) = match result {
                    Some(Ok(Acted::Done(detail))) => (StepOutcome::Done, detail),
                    Some(Ok(Acted::AlreadyDone(detail))) => (StepOutcome::Skipped, detail),
                    Some(Err(e)) => (StepOutcome::Failed, e.to_string()),
                    None => (
                        StepOutcome::Failed,
                        "cut off at the Lambda deadline; a retry of the event resumes here".into(),
                    ),
                };
                let mut report = StepReport::new(step.action.name(), step.action.resource(), outcome, detail);
                report.retries = retries;
                report
            }
        };
        report.duration_ms = millis(clock.elapsed());
        (report, created)
    }

    async fn act(
        &self,
        action: &Action,
        created: &mut Option<(String, IsolationGroupIds)>,
        moving: Option<oneshot::Sender<()>>,
    ) -> Result<Acted, AwsError> {
        let ec2 = &self.clients.ec2;
        match action {
            Action::EnsureIsolationGroups { vpc_id, with_untracking } => {
                let ids =
                    ec2::ensure_isolation_groups(ec2, vpc_id, &self.config.isolation_group_name, *with_untracking)
                        .await?;
                let detail = format!(
                    "isolation group {}{}",
                    ids.isolation,
                    ids.untracking.as_ref().map(|u| format!(", untracking group {u}")).unwrap_or_default()
                );
                *created = Some((vpc_id.clone(), ids));
                Ok(Acted::Done(detail))
            }
            Action::DetachFromAutoScalingGroup { group_name, instance_id } => {
                let record = [(tags::AUTOSCALING_GROUP.to_string(), group_name.clone())];
                ec2::create_tags(ec2, instance_id, &record).await?;
                fleet::detach_from_autoscaling_group(&self.clients.autoscaling, group_name, instance_id).await?;
                Ok(Acted::Done(format!("detached from {group_name}; the group launches a replacement")))
            }
            Action::ProtectFromTermination { instance_id } => {
                Ok(if ec2::protect_from_termination(ec2, instance_id).await? {
                    Acted::Done("termination protection on; shutdown behaviour stop".into())
                } else {
                    Acted::AlreadyDone("already protected".into())
                })
            }
            Action::IsolateNetworkInterface {
                eni_id,
                vpc_id,
                original_group_ids,
                current_group_ids,
                record_original_groups,
                via_untracking_group,
            } => {
                let ids = self.group_ids.get(vpc_id).ok_or_else(|| AwsError {
                    action: "ModifyNetworkInterfaceAttribute",
                    code: "NoIsolationGroup".into(),
                    message: format!("no isolation group is available in {vpc_id}"),
                })?;
                let ids = IsolationGroupIds {
                    isolation: ids.isolation.clone(),
                    untracking: if *via_untracking_group { ids.untracking.clone() } else { None },
                };
                let record = record_original_groups.then_some(original_group_ids.as_slice());
                let moving = || {
                    if let Some(sent) = moving {
                        let _ = sent.send(());
                    }
                };
                ec2::isolate_interface(ec2, eni_id, &ids, current_group_ids, record, moving).await?;
                Ok(Acted::Done(format!(
                    "moved from [{}] to {}{}",
                    original_group_ids.join(", "),
                    ids.isolation,
                    ids.untracking.map(|u| format!(" through {u}")).unwrap_or_default()
                )))
            }
            Action::SnapshotVolumes { instance_id, tags, .. } => {
                Ok(match ec2::snapshot_volumes(ec2, instance_id, tags).await? {
                    SnapshotOutcome::Created(snapshots) => Acted::Done(format!("snapshots {}", snapshots.join(", "))),
                    SnapshotOutcome::AlreadyTaken(snapshots) => {
                        Acted::AlreadyDone(format!("already snapshotted for this case: {}", snapshots.join(", ")))
                    }
                    SnapshotOutcome::DuplicateRemoved { kept, removed } => Acted::Done(format!(
                        "a concurrent delivery snapshotted the instance too: kept {}, removed the duplicates {}",
                        kept.join(", "),
                        removed.join(", ")
                    )),
                })
            }
            Action::DeregisterFromTargetGroups { instance_id, target_group_arns } => {
                let removed =
                    fleet::deregister_from_target_groups(&self.clients.elbv2, instance_id, target_group_arns).await?;
                Ok(Acted::Done(if removed.is_empty() {
                    "not registered in any target group".into()
                } else {
                    format!(
                        "deregistered from {}",
                        removed.iter().map(|r| r.target_group_arn.as_str()).collect::<Vec<_>>().join(", ")
                    )
                }))
            }
            Action::DisassociateInstanceProfile { profile_arn, instance_id } => {
                let record = [(tags::INSTANCE_PROFILE.to_string(), profile_arn.clone())];
                let (recorded, association) = tokio::join!(
                    ec2::create_tags(ec2, instance_id, &record),
                    ec2::instance_profile_association(ec2, instance_id)
                );
                recorded?;
                let Some(association) = association? else {
                    return Ok(Acted::AlreadyDone("no instance profile associated any more".into()));
                };
                ec2::disassociate_instance_profile(ec2, &association.association_id).await?;
                Ok(Acted::Done(format!(
                    "removed {} (credentials already issued stay valid until they expire)",
                    association.profile_arn
                )))
            }
            Action::TagInstance { instance_id, tags } => {
                ec2::create_tags(ec2, instance_id, tags).await?;
                Ok(Acted::Done(tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")))
            }
            Action::StopInstance { instance_id } => {
                ec2::stop_instance(ec2, instance_id).await?;
                Ok(Acted::Done("stop requested".into()))
            }
        }
    }
}
