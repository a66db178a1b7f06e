//! How each canary step is carried out: rules and logs with the canary's own clients, detectors
//! and samples in each account (through its member role).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Instant;

use aws_config::SdkConfig;
use serde_json::Value;
use thiserror::Error;

use super::action::CanaryAction;
use super::{CanaryConfig, REPORTED_BY, SAMPLE_FINDING_TYPE};
use crate::accounts::{AccountError, Accounts};
use crate::aws::{event_rules, guardduty, log_events, AwsError};
use crate::engine::{Acted, Execute, Progress};

#[derive(Debug, Error)]
pub enum CanaryError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A check that ran and found the pipeline broken.
    #[error("{0}")]
    Broken(String),
}

/// The canary's own clients, in its own account: the rules and the log group are there.
#[derive(Debug, Clone)]
pub struct Home {
    pub events: aws_sdk_eventbridge::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Home {
    pub fn new(config: &SdkConfig) -> Self {
        Self { events: aws_sdk_eventbridge::Client::new(config), logs: aws_sdk_cloudwatchlogs::Client::new(config) }
    }
}

pub struct Executor<'a> {
    pub accounts: &'a Accounts,
    pub home: &'a Home,
    pub config: &'a CanaryConfig,
    pub case_id: String,
    /// Reports written from then on count (epoch milliseconds, a minute before the run: clocks).
    pub since_ms: i64,
    detectors: Mutex<BTreeMap<String, String>>,
    requested: Mutex<BTreeSet<String>>,
}

impl<'a> Executor<'a> {
    pub fn new(
        accounts: &'a Accounts,
        home: &'a Home,
        config: &'a CanaryConfig,
        case_id: String,
        since_ms: i64,
    ) -> Self {
        Self { accounts, home, config, case_id, since_ms, detectors: Mutex::default(), requested: Mutex::default() }
    }

    async fn check_detector(&self, account: &str, region: &str) -> Result<Acted, CanaryError> {
        let member = self.accounts.clients_for(account, region, &self.case_id).await?;
        for detector in guardduty::list_detectors(&member.clients.guardduty).await? {
            if guardduty::detector_enabled(&member.clients.guardduty, &detector).await? {
                self.detectors.lock().map_err(poisoned)?.insert(account.to_string(), detector.clone());
                return Ok(Acted::done(format!("detector {detector} enabled")));
            }
        }
        Err(CanaryError::Broken(format!(
            "no enabled GuardDuty detector in {account}/{region}: no finding is raised there"
        )))
    }

    async fn create_sample(&self, account: &str, region: &str) -> Result<Acted, CanaryError> {
        let detector = self.detectors.lock().map_err(poisoned)?.get(account).cloned();
        let detector = detector
            .ok_or_else(|| CanaryError::Broken("no enabled detector to ask (see check_guardduty_detector)".into()))?;
        let member = self.accounts.clients_for(account, region, &self.case_id).await?;
        guardduty::create_sample_findings(&member.clients.guardduty, &detector, &[SAMPLE_FINDING_TYPE]).await?;
        self.requested.lock().map_err(poisoned)?.insert(account.to_string());
        Ok(Acted::done(format!("sample {SAMPLE_FINDING_TYPE} requested from detector {detector}")))
    }

    /// Reads the log group until every account asked has its report, or the wait is over.
    async fn await_reports(&self) -> Result<Acted, CanaryError> {
        let mut pending = self.requested.lock().map_err(poisoned)?.clone();
        if pending.is_empty() {
            return Err(CanaryError::Broken("no sample finding was created: nothing to wait for".into()));
        }
        let clock = Instant::now();
        // A quoted term: CloudWatch Logs matches it as is (and moto understands it).
        let pattern = format!("\"{SAMPLE_FINDING_TYPE}\"");
        loop {
            let lines =
                log_events::filter_log_events(&self.home.logs, &self.config.log_group, &pattern, self.since_ms).await?;
            for line in lines.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
                if is_report(&line) {
                    pending.remove(line["account"].as_str().unwrap_or_default());
                }
            }
            if pending.is_empty() {
                let seconds = clock.elapsed().as_secs();
                return Ok(Acted::done(format!("{REPORTED_BY} reported every sample (after {seconds} s)")));
            }
            if clock.elapsed() >= self.config.wait {
                let missing: Vec<&str> = pending.iter().map(String::as_str).collect();
                return Err(CanaryError::Broken(format!(
                    "no report from {REPORTED_BY} within {} s for account(s) {}: GuardDuty -> EventBridge -> rule -> function -> log is broken (docs/operations.md)",
                    self.config.wait.as_secs(),
                    missing.join(", ")
                )));
            }
            tokio::time::sleep(self.config.poll).await;
        }
    }
}

/// quarantine-instance's metric line (see `engine::metrics`) about a sample of the canary's type.
pub fn is_report(line: &Value) -> bool {
    line.get("_aws").is_some() && line["function"] == REPORTED_BY && line["signal_kind"] == SAMPLE_FINDING_TYPE
}

fn poisoned<T>(_: T) -> CanaryError {
    CanaryError::Broken("internal state poisoned by an earlier panic".into())
}

impl Execute<CanaryAction> for Executor<'_> {
    type Error = CanaryError;

    async fn execute(&self, action: &CanaryAction, _progress: Progress) -> Result<Acted, CanaryError> {
        match action {
            CanaryAction::CheckRule { name } => match event_rules::rule_state(&self.home.events, name).await? {
                Some(state) if state == "ENABLED" => Ok(Acted::done("enabled")),
                Some(state) => {
                    Err(CanaryError::Broken(format!("rule {name} is {state}: no event reaches its function")))
                }
                None => Err(CanaryError::Broken(format!("no rule {name}: no event reaches its function"))),
            },
            CanaryAction::CheckDetector { account, region } => self.check_detector(account, region).await,
            CanaryAction::CreateSampleFinding { account, region } => self.create_sample(account, region).await,
            CanaryAction::AwaitReports { .. } => self.await_reports().await,
        }
    }
}
