//! How each step of the audit is carried out: reads through `observe`, the import through the
//! Security Hub wrappers.

use std::sync::{Mutex, PoisonError};

use aws_sdk_securityhub::types::AwsSecurityFinding;
use thiserror::Error;

use super::action::PostureAction;
use super::checks::GENERATOR_PREFIX;
use super::config::PostureConfig;
use super::evaluate::{evaluate, gaps_of};
use super::findings::{to_import, Import};
use super::observe::Observer;
use crate::aws::{securityhub, AwsError, Clients};
use crate::engine::{Acted, Execute, Progress, StepOutcome};

#[derive(Debug, Error)]
pub enum StepError {
    /// The check's facts could not be read: it neither raises nor resolves a finding.
    #[error("could not check: {0}")]
    CouldNotCheck(AwsError),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

pub struct Executor<'a> {
    pub clients: &'a Clients,
    pub config: &'a PostureConfig,
    pub observer: Observer<'a>,
    /// The run's time: RFC 3339 for the findings, seconds since the epoch for key ages.
    pub now: String,
    pub now_secs: i64,
    /// What read_previous_findings found; `None` if it did not (then nothing is resolved).
    previous: Mutex<Option<Vec<AwsSecurityFinding>>>,
    /// The finding ids the import resolved (or would, in a dry run); `None` until it runs.
    resolved: Mutex<Option<Vec<String>>>,
}

impl<'a> Executor<'a> {
    pub fn new(
        clients: &'a Clients,
        config: &'a PostureConfig,
        observer: Observer<'a>,
        now: String,
        now_secs: i64,
    ) -> Self {
        Self { clients, config, observer, now, now_secs, previous: Mutex::new(None), resolved: Mutex::new(None) }
    }

    /// The finding ids the import resolved, or `None` if the import never ran.
    pub fn resolved(&self) -> Option<Vec<String>> {
        self.resolved.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Execute<PostureAction> for Executor<'_> {
    type Error = StepError;

    async fn execute(&self, action: &PostureAction, _progress: Progress) -> Result<Acted, StepError> {
        match action {
            PostureAction::Check { check, .. } => {
                self.observer.read(check.source()).await;
                let gaps = self
                    .observer
                    .with_facts(|facts| gaps_of(*check, facts, self.config, self.now_secs).map_err(AwsError::clone))
                    .map_err(StepError::CouldNotCheck)?;
                Ok(Acted::done(if gaps.is_empty() {
                    "ok: no gap".to_string()
                } else {
                    let titles: Vec<&str> = gaps.iter().map(|g| g.title.as_str()).collect();
                    format!("{} gap(s): {}", gaps.len(), titles.join("; "))
                }))
            }
            PostureAction::ReadPreviousFindings { account_id } => {
                let found =
                    securityhub::active_findings_by_generator(&self.clients.securityhub, account_id, GENERATOR_PREFIX)
                        .await?;
                let detail = format!("{} ACTIVE finding(s) of earlier runs", found.len());
                *self.previous.lock().unwrap_or_else(PoisonError::into_inner) = Some(found);
                Ok(Acted::done(detail))
            }
            PostureAction::ImportFindings { account_id, region } => {
                let (gaps, evaluated) = self.observer.with_facts(|facts| evaluate(facts, self.config, self.now_secs));
                let previous = self.previous.lock().unwrap_or_else(PoisonError::into_inner).take();
                let Import { findings, gaps, resolved } =
                    to_import(&gaps, &evaluated, previous.as_deref(), account_id, region, &self.now);
                let resolved_count = resolved.len();
                *self.resolved.lock().unwrap_or_else(PoisonError::into_inner) = Some(resolved);
                if self.config.common.dry_run {
                    return Ok(Acted {
                        outcome: StepOutcome::Planned,
                        ..Acted::done(format!("would import {gaps} gap finding(s) and resolve {resolved_count}"))
                    });
                }
                if findings.is_empty() {
                    return Ok(Acted::already_done("no gap and nothing to resolve"));
                }
                let imported = securityhub::import_findings(&self.clients.securityhub, &findings).await?;
                Ok(Acted::done(format!("imported {imported} finding(s): {gaps} gap(s), {resolved_count} resolved")))
            }
        }
    }
}
