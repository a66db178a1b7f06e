//! IAM and STS calls used to revoke credentials: each one API operation, each labelled with it.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{StatusType, Tag};
use aws_sdk_iam::Client;

use crate::aws::{AwsError, AwsResultExt};
use crate::policy;

const NO_SUCH_ENTITY: &str = "NoSuchEntity";

/// `Ok(None)` for IAM's NoSuchEntity, so "absent" is a value and not an error.
fn absent_is_none<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_code(NO_SUCH_ENTITY) => Ok(None),
        Err(e) => Err(e),
    }
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

fn iam_tags(pairs: &[(String, String)]) -> Result<Vec<Tag>, AwsError> {
    pairs
        .iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| AwsError {
                action: "TagUser",
                code: "InvalidTag".into(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// The ARN of the credentials this function runs with (its own role, on Lambda).
pub async fn caller_identity(sts: &aws_sdk_sts::Client) -> Result<String, AwsError> {
    let out = sts.get_caller_identity().send().await.aws("GetCallerIdentity")?;
    out.arn().map(str::to_string).ok_or_else(|| AwsError {
        action: "GetCallerIdentity",
        code: "NoArn".into(),
        message: "GetCallerIdentity returned no ARN".into(),
    })
}

/// The user an access key belongs to, or `None` when the key is not in this account.
pub async fn access_key_owner(iam: &Client, access_key_id: &str) -> Result<Option<String>, AwsError> {
    let out = absent_is_none(
        iam.get_access_key_last_used().access_key_id(access_key_id).send().await.aws("GetAccessKeyLastUsed"),
    )?;
    Ok(out.and_then(|o| o.user_name().map(str::to_string)))
}

/// The user's ARN, or `None` when there is no such user.
pub async fn user_arn(iam: &Client, user_name: &str) -> Result<Option<String>, AwsError> {
    let out = absent_is_none(iam.get_user().user_name(user_name).send().await.aws("GetUser"))?;
    Ok(out.and_then(|o| o.user().map(|u| u.arn().to_string())))
}

pub async fn user_tags(iam: &Client, user_name: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let out = iam.list_user_tags().user_name(user_name).send().await.aws("ListUserTags")?;
    Ok(tag_map(out.tags()))
}

/// The user's access keys with whether each is active.
pub async fn access_keys(iam: &Client, user_name: &str) -> Result<Vec<(String, bool)>, AwsError> {
    let out = iam.list_access_keys().user_name(user_name).send().await.aws("ListAccessKeys")?;
    Ok(out
        .access_key_metadata()
        .iter()
        .filter_map(|k| Some((k.access_key_id()?.to_string(), k.status() == Some(&StatusType::Active))))
        .collect())
}

pub async fn has_login_profile(iam: &Client, user_name: &str) -> Result<bool, AwsError> {
    Ok(absent_is_none(iam.get_login_profile().user_name(user_name).send().await.aws("GetLoginProfile"))?.is_some())
}

/// An inline user policy's document, decoded; `None` when the user has no policy of that name.
pub async fn user_policy(
    iam: &Client,
    user_name: &str,
    policy_name: &str,
) -> Result<Option<serde_json::Value>, AwsError> {
    let out = absent_is_none(
        iam.get_user_policy().user_name(user_name).policy_name(policy_name).send().await.aws("GetUserPolicy"),
    )?;
    Ok(out.and_then(|o| policy::decode_document(o.policy_document())))
}

pub async fn deactivate_access_key(iam: &Client, user_name: &str, access_key_id: &str) -> Result<(), AwsError> {
    iam.update_access_key()
        .user_name(user_name)
        .access_key_id(access_key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .aws("UpdateAccessKey")?;
    Ok(())
}

/// Makes a key Active again (a release with credentials, for the keys the case disabled).
pub async fn activate_access_key(iam: &Client, user_name: &str, access_key_id: &str) -> Result<(), AwsError> {
    iam.update_access_key()
        .user_name(user_name)
        .access_key_id(access_key_id)
        .status(StatusType::Active)
        .send()
        .await
        .aws("UpdateAccessKey")?;
    Ok(())
}

/// Deletes an inline policy Firebreak wrote on a user; false when it is gone already.
pub async fn delete_user_policy(iam: &Client, user_name: &str, policy_name: &str) -> Result<bool, AwsError> {
    match iam.delete_user_policy().user_name(user_name).policy_name(policy_name).send().await.aws("DeleteUserPolicy") {
        Ok(_) => Ok(true),
        Err(e) if e.is_code("NoSuchEntity") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes an inline policy Firebreak wrote on a role; false when it is gone already.
pub async fn delete_role_policy(iam: &Client, role_name: &str, policy_name: &str) -> Result<bool, AwsError> {
    match iam.delete_role_policy().role_name(role_name).policy_name(policy_name).send().await.aws("DeleteRolePolicy") {
        Ok(_) => Ok(true),
        Err(e) if e.is_code("NoSuchEntity") => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn delete_login_profile(iam: &Client, user_name: &str) -> Result<(), AwsError> {
    iam.delete_login_profile().user_name(user_name).send().await.aws("DeleteLoginProfile")?;
    Ok(())
}

pub async fn put_user_policy(iam: &Client, user_name: &str, policy_name: &str, document: &str) -> Result<(), AwsError> {
    iam.put_user_policy()
        .user_name(user_name)
        .policy_name(policy_name)
        .policy_document(document)
        .send()
        .await
        .aws("PutUserPolicy")?;
    Ok(())
}

pub async fn tag_user(iam: &Client, user_name: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
    iam.tag_user().user_name(user_name).set_tags(Some(iam_tags(pairs)?)).send().await.aws("TagUser")?;
    Ok(())
}

/// The roles of an instance profile (at most one), or `None` when there is no such profile.
pub async fn instance_profile_roles(iam: &Client, profile_name: &str) -> Result<Option<Vec<String>>, AwsError> {
    let out = absent_is_none(
        iam.get_instance_profile().instance_profile_name(profile_name).send().await.aws("GetInstanceProfile"),
    )?;
    Ok(out.and_then(|o| o.instance_profile().map(|p| p.roles().iter().map(|r| r.role_name().to_string()).collect())))
}

/// The role's ARN, or `None` when there is no such role.
pub async fn find_role_arn(iam: &Client, role_name: &str) -> Result<Option<String>, AwsError> {
    let out = absent_is_none(iam.get_role().role_name(role_name).send().await.aws("GetRole"))?;
    Ok(out.and_then(|o| o.role().map(|r| r.arn().to_string())))
}

pub async fn role_tags(iam: &Client, role_name: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let out = iam.list_role_tags().role_name(role_name).send().await.aws("ListRoleTags")?;
    Ok(tag_map(out.tags()))
}

pub async fn role_policy(
    iam: &Client,
    role_name: &str,
    policy_name: &str,
) -> Result<Option<serde_json::Value>, AwsError> {
    let out = absent_is_none(
        iam.get_role_policy().role_name(role_name).policy_name(policy_name).send().await.aws("GetRolePolicy"),
    )?;
    Ok(out.and_then(|o| policy::decode_document(o.policy_document())))
}

pub async fn put_role_policy(iam: &Client, role_name: &str, policy_name: &str, document: &str) -> Result<(), AwsError> {
    iam.put_role_policy()
        .role_name(role_name)
        .policy_name(policy_name)
        .policy_document(document)
        .send()
        .await
        .aws("PutRolePolicy")?;
    Ok(())
}

pub async fn tag_role(iam: &Client, role_name: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
    iam.tag_role().role_name(role_name).set_tags(Some(iam_tags(pairs)?)).send().await.aws("TagRole")?;
    Ok(())
}

/// The root user's hardening, as GetAccountSummary counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSummary {
    /// `AccountMFAEnabled`: the root user has an MFA device.
    pub account_mfa_enabled: bool,
    /// `AccountAccessKeysPresent`: the root user has access keys.
    pub account_access_keys_present: bool,
}

pub async fn account_summary(iam: &Client) -> Result<AccountSummary, AwsError> {
    use aws_sdk_iam::types::SummaryKeyType;
    let summary = iam.get_account_summary().send().await.aws("GetAccountSummary")?;
    let map = summary.summary_map().cloned().unwrap_or_default();
    let present = |key: SummaryKeyType| map.get(&key).copied().unwrap_or(0) > 0;
    Ok(AccountSummary {
        account_mfa_enabled: present(SummaryKeyType::AccountMfaEnabled),
        account_access_keys_present: present(SummaryKeyType::AccountAccessKeysPresent),
    })
}

/// Every IAM user of the account as (user name, ARN), all pages.
pub async fn list_users(iam: &Client) -> Result<Vec<(String, String)>, AwsError> {
    let mut users = Vec::new();
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        users.extend(page.aws("ListUsers")?.users().iter().map(|u| (u.user_name().to_string(), u.arn().to_string())));
    }
    Ok(users)
}

pub async fn mfa_device_count(iam: &Client, user_name: &str) -> Result<usize, AwsError> {
    Ok(iam.list_mfa_devices().user_name(user_name).send().await.aws("ListMFADevices")?.mfa_devices().len())
}

/// An access key as ListAccessKeys describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyMetadata {
    pub access_key_id: String,
    pub active: bool,
    /// Seconds since the epoch; 0 when IAM gives no date.
    pub created: i64,
}

/// The user's access keys with their status and creation date.
pub async fn access_key_metadata(iam: &Client, user_name: &str) -> Result<Vec<AccessKeyMetadata>, AwsError> {
    let out = iam.list_access_keys().user_name(user_name).send().await.aws("ListAccessKeys")?;
    Ok(out
        .access_key_metadata()
        .iter()
        .filter_map(|k| {
            Some(AccessKeyMetadata {
                access_key_id: k.access_key_id()?.to_string(),
                active: k.status() == Some(&StatusType::Active),
                created: k.create_date().map(|d| d.secs()).unwrap_or(0),
            })
        })
        .collect())
}

/// When the key was last used (seconds since the epoch), `None` if never.
pub async fn access_key_last_used(iam: &Client, access_key_id: &str) -> Result<Option<i64>, AwsError> {
    let out = iam.get_access_key_last_used().access_key_id(access_key_id).send().await.aws("GetAccessKeyLastUsed")?;
    Ok(out.access_key_last_used().and_then(|u| u.last_used_date()).map(|d| d.secs()))
}
