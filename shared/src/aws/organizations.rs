//! AWS Organizations, as audit-posture reads it: which accounts the organisation has.

use aws_sdk_organizations::types::AccountStatus;
use aws_sdk_organizations::Client;

use crate::aws::{AwsError, AwsResultExt};

/// The ids of the organisation's ACTIVE accounts (suspended and closing ones cannot be audited),
/// all pages. Only the management account or a delegated administrator may call it.
pub async fn active_accounts(organizations: &Client) -> Result<Vec<String>, AwsError> {
    let mut accounts = Vec::new();
    let mut pages = organizations.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        accounts.extend(
            page.aws("ListAccounts")?
                .accounts()
                .iter()
                .filter(|a| a.status().is_none_or(|s| *s == AccountStatus::Active))
                .filter_map(|a| a.id().map(str::to_string)),
        );
    }
    Ok(accounts)
}
