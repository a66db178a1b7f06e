//! Who credentials belong to: a user or a role by name, the references that protect one (a name
//! or an ARN), and the checks on IAM names and access key ids before they reach an API call.

use std::fmt;

use serde::Serialize;

use crate::events::EventError;

/// A user or a role, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Principal {
    User(String),
    Role(String),
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Self::User(name) | Self::Role(name) => name,
        }
    }

    pub fn kind(&self) -> PrincipalKind {
        match self {
            Self::User(_) => PrincipalKind::User,
            Self::Role(_) => PrincipalKind::Role,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(name) => write!(f, "user {name}"),
            Self::Role(name) => write!(f, "role {name}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Role,
}

/// One entry of the protected list, or the function's own identity: a name that matches a user
/// or a role, or an ARN that fixes the kind and the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalRef {
    pub account_id: Option<String>,
    pub kind: Option<PrincipalKind>,
    pub name: String,
}

impl PrincipalRef {
    /// A plain IAM name, or an `arn:<partition>:iam::<account>:user|role/<path>/<name>` or
    /// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` ARN.
    pub fn parse(text: &str) -> Option<Self> {
        if !text.starts_with("arn:") {
            return is_iam_name(text).then(|| Self { account_id: None, kind: None, name: text.to_string() });
        }
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        let [_, _, service, _, account, resource] = parts.as_slice() else {
            return None;
        };
        let segments: Vec<&str> = resource.split('/').collect();
        let (kind, name) = match (*service, segments.as_slice()) {
            ("iam" | "sts", ["user", .., name]) => (PrincipalKind::User, *name),
            ("iam", ["role", .., name]) => (PrincipalKind::Role, *name),
            ("sts", ["assumed-role", role, _session]) => (PrincipalKind::Role, *role),
            _ => return None,
        };
        is_iam_name(name).then(|| Self {
            account_id: (!account.is_empty()).then(|| account.to_string()),
            kind: Some(kind),
            name: name.to_string(),
        })
    }

    /// IAM names are unique case-insensitively, so `Admin` and `admin` are the same principal.
    pub fn matches(&self, principal: &Principal, account_id: &str) -> bool {
        self.kind.is_none_or(|k| k == principal.kind())
            && self.account_id.as_deref().is_none_or(|a| a == account_id)
            && self.name.eq_ignore_ascii_case(principal.name())
    }
}

/// IAM user and role names: 1-64 characters of letters, digits and `+=,.@_-`.
fn is_iam_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

pub(super) fn validate_iam_name(field: &'static str, name: &str) -> Result<(), EventError> {
    if is_iam_name(name) {
        Ok(())
    } else {
        Err(EventError::InvalidField {
            field,
            value: name.chars().take(64).collect(),
            why: "an IAM name is 1-64 letters, digits or +=,.@_-",
        })
    }
}

/// Access key ids: `AKIA` (long-term) or `ASIA` (temporary) and 16 or more uppercase letters and digits.
pub fn is_access_key_id(value: &str) -> bool {
    (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && (20..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

pub(super) fn validate_access_key_id(field: &'static str, value: &str) -> Result<(), EventError> {
    if is_access_key_id(value) {
        Ok(())
    } else {
        Err(EventError::InvalidField {
            field,
            value: value.chars().take(64).collect(),
            why: "an access key id is AKIA or ASIA followed by uppercase letters and digits",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_refs_parse_names_and_arns() {
        let name = PrincipalRef::parse("breakglass-admin").unwrap();
        assert!(name.matches(&Principal::User("breakglass-admin".into()), "123456789012"));
        assert!(name.matches(&Principal::Role("BreakGlass-Admin".into()), "123456789012"));

        let role = PrincipalRef::parse("arn:aws:iam::123456789012:role/ops/firebreak-revoke").unwrap();
        assert!(role.matches(&Principal::Role("firebreak-revoke".into()), "123456789012"));
        assert!(!role.matches(&Principal::User("firebreak-revoke".into()), "123456789012"));
        assert!(!role.matches(&Principal::Role("firebreak-revoke".into()), "222222222222"));

        let session =
            PrincipalRef::parse("arn:aws:sts::123456789012:assumed-role/firebreak-revoke/revoke-credentials").unwrap();
        assert_eq!(session.kind, Some(PrincipalKind::Role));
        assert_eq!(session.name, "firebreak-revoke");
        let moto = PrincipalRef::parse("arn:aws:sts::123456789012:user/moto").unwrap();
        assert!(moto.matches(&Principal::User("moto".into()), "123456789012"));

        assert_eq!(PrincipalRef::parse("arn:aws:iam::123456789012:root"), None);
        assert_eq!(PrincipalRef::parse("not a name"), None);
    }

    #[test]
    fn access_key_ids_are_checked() {
        assert!(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(is_access_key_id("ASIAQ3EGSYGZJ5EXAMPL"));
        assert!(!is_access_key_id("GeneratedFindingAccessKeyId"));
        assert!(!is_access_key_id("AKIA/../x"));
    }
}
