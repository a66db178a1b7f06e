//! `firebreak release CASE`: the release function's plan for one case, run for a responder:
//! planned, asked, acted, and the case marked released with the caller's ARN and reason.

use firebreak::deadline::Deadline;
use firebreak::release::{self, ReleaseConfig, ReleaseError, ReleaseRequest};

use crate::act::{exit_of, planned, Mode};
use crate::aws::Session;
use crate::error::{CliError, Result};

fn release_error(error: ReleaseError) -> CliError {
    match error {
        ReleaseError::Account(e) => e.into(),
        e @ (ReleaseError::AlreadyReleased { .. } | ReleaseError::NotContained { .. }) => {
            CliError::Refused(e.to_string())
        }
        e @ (ReleaseError::Event(_) | ReleaseError::NoLedger | ReleaseError::UnknownCase(_)) => CliError::invalid(e),
        e => CliError::failed(e),
    }
}

pub async fn release(
    session: &Session,
    case_id: &str,
    credentials: bool,
    reason: Option<String>,
    mode: Mode,
) -> Result<()> {
    let table = session.table()?.to_string();
    let caller = session.caller().await?;
    let mut config = ReleaseConfig::from_env()?;
    config.common.cases_table = Some(table);
    let request = ReleaseRequest {
        case_id: case_id.to_string(),
        reason: reason.unwrap_or_default(),
        requested_by: caller.arn,
        credentials,
    }
    .validated()
    .map_err(CliError::invalid)?;
    let what = format!("the release of case {case_id}");

    let credentials = if credentials { " (credentials too)" } else { " (credentials stay revoked)" };
    println!("Plan: release case {case_id}{credentials}");
    let mut dry = config.clone();
    dry.common.dry_run = true;
    let plan = release::release_case(&session.accounts, &dry, &request, Deadline::NONE).await.map_err(release_error)?;
    if !planned(&plan, &what, mode, config.common.dry_run)? {
        return Ok(());
    }

    println!("Releasing case {case_id}:");
    let report =
        release::release_case(&session.accounts, &config, &request, Deadline::NONE).await.map_err(release_error)?;
    exit_of(&report, &what)
}
