//! The credentials an attack sequence names (no AWS call): `ACCESS_KEY` resources and the role
//! behind an `IAM_INSTANCE_PROFILE` resource in any sequence, and, in `AttackSequence:IAM/...` and
//! `AttackSequence:S3/...`, the principals of `actors[].user`.
//!
//! Resources are the finding's own: one of another account is a broken or hostile event, refused
//! whole (as for instances). Actors are whoever acted — possibly a principal of another account,
//! which the finding's clients cannot revoke: that one is reported, the others are revoked.

use super::principal::{validate_access_key_id, validate_iam_name, PrincipalKind, PrincipalRef};
use super::request::Target;
use crate::events::sequence::{SequenceResource, MAX_SEQUENCE_RESOURCES};
use crate::events::{arn_account_region, EventError, GuardDutyFinding};

/// Principals one invocation revokes at most; a real sequence names a handful. More is refused
/// whole rather than revoked at random before the deadline.
pub const MAX_SEQUENCE_PRINCIPALS: usize = 20;

/// The sequence types whose actors are revoked: the identity is what was compromised.
const ACTOR_TYPE_PREFIXES: [&str; 2] = ["AttackSequence:IAM/", "AttackSequence:S3/"];

/// One credential to revoke, or what must be read first to know whose it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    Named(Target),
    /// An access key whose owner the event does not name (GetAccessKeyLastUsed tells).
    AccessKey(String),
    /// The role behind an instance profile (GetInstanceProfile tells).
    InstanceProfile(String),
}

/// What a sequence names for revoke-credentials, and what it names that is left (and why).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SequenceCredentials {
    pub credentials: Vec<Credential>,
    pub left: Vec<(String, String)>,
}

impl SequenceCredentials {
    fn add(&mut self, credential: Credential) {
        if !self.credentials.contains(&credential) {
            self.credentials.push(credential);
        }
    }
}

/// The credentials of an attack sequence finding, validated.
pub fn sequence_credentials(finding: &GuardDutyFinding) -> Result<SequenceCredentials, EventError> {
    if !finding.is_attack_sequence() {
        return Err(EventError::UnsupportedFinding {
            finding_type: finding.finding_type.clone(),
            resource_type: finding.resource.resource_type.clone(),
            why: "not an attack sequence",
        });
    }
    let resources = finding.sequence_resources();
    let actors = finding.sequence().map(|s| s.actors.as_slice()).unwrap_or_default();
    if resources.len() > MAX_SEQUENCE_RESOURCES || actors.len() > MAX_SEQUENCE_RESOURCES {
        return Err(too_many("service.detection.sequence resources or actors", resources.len().max(actors.len())));
    }
    let mut found = SequenceCredentials::default();
    for resource in resources {
        match resource.resource_type.as_str() {
            "ACCESS_KEY" => found.add(access_key(finding, resource)?),
            "IAM_INSTANCE_PROFILE" => found.add(Credential::InstanceProfile(instance_profile(finding, resource)?)),
            _ => {}
        }
    }
    if ACTOR_TYPE_PREFIXES.iter().any(|p| finding.finding_type.starts_with(p)) {
        for user in actors.iter().filter_map(|a| a.user.as_ref()) {
            match actor_target(finding, user.uid.as_deref(), user.name.as_deref(), user.user_type.as_deref())? {
                Ok(target) => found.add(Credential::Named(target)),
                Err(left) => found.left.push(left),
            }
        }
    }
    if found.credentials.len() > MAX_SEQUENCE_PRINCIPALS {
        return Err(too_many("credentials named by the sequence", found.credentials.len()));
    }
    Ok(found)
}

/// An `ACCESS_KEY` resource: `uid` is the key id; `data.accessKey` names its user when GuardDuty
/// knows it (`userType` IAMUser / AssumedRole / Root).
fn access_key(finding: &GuardDutyFinding, resource: &SequenceResource) -> Result<Credential, EventError> {
    check_account(finding, resource)?;
    validate_access_key_id("sequence ACCESS_KEY uid", &resource.uid)?;
    let data = resource.data.as_ref().and_then(|d| d.get("accessKey"));
    let text = |key: &str| data.and_then(|d| d.get(key)).and_then(|v| v.as_str()).map(str::to_string);
    let (user_type, user_name) = (text("userType"), text("userName"));
    let Some(user_name) = user_name else {
        return Ok(Credential::AccessKey(resource.uid.clone()));
    };
    Ok(Credential::Named(match user_type.as_deref() {
        Some("IAMUser") => {
            validate_iam_name("data.accessKey.userName", &user_name)?;
            // A temporary key (ASIA) cannot be made inactive; the user's session deny covers it.
            let long_term = resource.uid.starts_with("AKIA").then(|| resource.uid.clone());
            Target::User { user_name, access_key_id: long_term }
        }
        Some("AssumedRole") => {
            validate_iam_name("data.accessKey.userName", &user_name)?;
            Target::RoleSessions { role_name: user_name }
        }
        other => Target::NotRevocable { user_type: other.unwrap_or("unknown").to_string(), principal: user_name },
    }))
}

/// An `IAM_INSTANCE_PROFILE` resource: `uid` is the profile's ARN
/// (`arn:aws:iam::<account>:instance-profile/<path>/<name>`) or its name.
fn instance_profile(finding: &GuardDutyFinding, resource: &SequenceResource) -> Result<String, EventError> {
    check_account(finding, resource)?;
    let name = match arn_account_region(&resource.uid) {
        None => resource.uid.as_str(),
        Some((account, _)) => {
            if account != Some(finding.account_id.as_str()) {
                return Err(EventError::invalid("instance profile uid", &resource.uid, "a profile of another account"));
            }
            match resource.uid.split_once(":instance-profile/") {
                Some((head, path)) if head.split(':').nth(2) == Some("iam") => path.rsplit('/').next().unwrap_or(path),
                _ => {
                    return Err(EventError::invalid(
                        "instance profile uid",
                        &resource.uid,
                        "not an IAM instance profile ARN",
                    ))
                }
            }
        }
    };
    validate_iam_name("sequence IAM_INSTANCE_PROFILE uid", name)?;
    Ok(name.to_string())
}

/// An actor's identity: from `uid` when it is an IAM or STS ARN (which fixes kind and account),
/// else from `name` and `type`. `Err(left)` for one the finding's account cannot revoke.
fn actor_target(
    finding: &GuardDutyFinding,
    uid: Option<&str>,
    name: Option<&str>,
    user_type: Option<&str>,
) -> Result<Result<Target, (String, String)>, EventError> {
    let shown = uid.or(name).unwrap_or("-").chars().take(256).collect::<String>();
    let from_arn = uid.filter(|u| u.starts_with("arn:")).and_then(PrincipalRef::parse);
    if let Some(arn) = &from_arn {
        if arn.account_id.as_deref().is_some_and(|a| a != finding.account_id) {
            return Ok(Err((shown, "an identity of another account: revoke it there".into())));
        }
    }
    let kind = from_arn.as_ref().and_then(|a| a.kind).or(match user_type {
        Some("IAMUser") => Some(PrincipalKind::User),
        Some("AssumedRole" | "Role") => Some(PrincipalKind::Role),
        _ => None,
    });
    let name = match (&from_arn, name) {
        (Some(arn), _) => arn.name.clone(),
        // An assumed role's name may come as "role/session".
        (None, Some(name)) => name.split('/').next().unwrap_or(name).to_string(),
        (None, None) => return Ok(Err((shown, "an actor without a user name or ARN".into()))),
    };
    Ok(Ok(match kind {
        Some(PrincipalKind::User) => {
            validate_iam_name("actors[].user", &name)?;
            Target::User { user_name: name, access_key_id: None }
        }
        Some(PrincipalKind::Role) => {
            validate_iam_name("actors[].user", &name)?;
            Target::RoleSessions { role_name: name }
        }
        None => Target::NotRevocable { user_type: user_type.unwrap_or("unknown").to_string(), principal: name },
    }))
}

fn check_account(finding: &GuardDutyFinding, resource: &SequenceResource) -> Result<(), EventError> {
    match &resource.account_id {
        Some(account) if *account != finding.account_id => Err(EventError::invalid(
            "sequence.resources[].accountId",
            account,
            "a sequence resource of another account than the finding's",
        )),
        _ => Ok(()),
    }
}

fn too_many(field: &'static str, count: usize) -> EventError {
    EventError::too_many(
        field,
        count,
        "more than one invocation revokes (at most 20 credentials, 400 resources or actors): refused whole",
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn sequence(finding_type: &str, resources: Value, actors: Value) -> GuardDutyFinding {
        let event = json!({
            "version": "0", "id": "e", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "account": "111122223333", "time": "2026-11-30T01:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {
                "schemaVersion": "2.0", "accountId": "111122223333", "region": "us-east-1", "partition": "aws",
                "id": "seq1", "arn": "arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/seq1",
                "type": finding_type, "severity": 9.0, "createdAt": "2026-11-30T00:00:00Z", "updatedAt": "2026-11-30T00:30:00Z",
                "resource": {"resourceType": "AttackSequence"},
                "service": {"serviceName": "guardduty", "detectorId": "d", "featureName": "Correlation",
                    "detection": {"sequence": {"uid": "u", "resources": resources, "actors": actors}}}
            }
        });
        GuardDutyFinding::from_event(&event).expect("finding")
    }

    #[test]
    fn iam_sequence_names_keys_and_actors() {
        let finding = sequence(
            "AttackSequence:IAM/CompromisedCredentials",
            json!([
                {"uid": "AKIAIOSFODNN7EXAMPLE", "resourceType": "ACCESS_KEY", "accountId": "111122223333",
                 "data": {"accessKey": {"principalId": "AIDA", "userName": "deploy", "userType": "IAMUser"}}},
                {"uid": "ASIAIOSFODNN7EXAMPLE", "resourceType": "ACCESS_KEY"}
            ]),
            json!([
                {"id": "a1", "user": {"name": "ci-role", "uid": "arn:aws:sts::111122223333:assumed-role/ci-role/build", "type": "AssumedRole"}},
                {"id": "a2", "user": {"name": "deploy", "uid": "AIDA", "type": "IAMUser"}},
                {"id": "a3", "user": {"name": "x", "uid": "arn:aws:iam::999999999999:user/x", "type": "IAMUser"}}
            ]),
        );
        let found = sequence_credentials(&finding).expect("credentials");
        assert_eq!(
            found.credentials,
            vec![
                Credential::Named(Target::User {
                    user_name: "deploy".into(),
                    access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into())
                }),
                Credential::AccessKey("ASIAIOSFODNN7EXAMPLE".into()),
                Credential::Named(Target::RoleSessions { role_name: "ci-role".into() }),
                Credential::Named(Target::User { user_name: "deploy".into(), access_key_id: None }),
            ]
        );
        assert_eq!(found.left.len(), 1, "{:?}", found.left);
        assert!(found.left[0].1.contains("another account"));
    }

    #[test]
    fn ec2_sequence_names_the_shared_profile_not_its_actors() {
        let finding = sequence(
            "AttackSequence:EC2/CompromisedInstanceGroup",
            json!([
                {"uid": "i-0123456789abcdef0", "resourceType": "EC2_INSTANCE"},
                {"uid": "arn:aws:iam::111122223333:instance-profile/web/web-profile", "resourceType": "IAM_INSTANCE_PROFILE"}
            ]),
            json!([{"id": "a", "user": {"name": "web-role", "uid": "arn:aws:sts::111122223333:assumed-role/web-role/i-0", "type": "AssumedRole"}}]),
        );
        let found = sequence_credentials(&finding).expect("credentials");
        assert_eq!(found.credentials, vec![Credential::InstanceProfile("web-profile".into())]);
    }

    #[test]
    fn hostile_sequences_are_refused_whole() {
        let foreign = sequence(
            "AttackSequence:IAM/CompromisedCredentials",
            json!([{"uid": "AKIAIOSFODNN7EXAMPLE", "resourceType": "ACCESS_KEY", "accountId": "999999999999"}]),
            json!([]),
        );
        assert!(sequence_credentials(&foreign).is_err());
        let bad_profile = sequence(
            "AttackSequence:EC2/CompromisedInstanceGroup",
            json!([{"uid": "arn:aws:s3:::bucket/instance-profile/x", "resourceType": "IAM_INSTANCE_PROFILE"}]),
            json!([]),
        );
        assert!(sequence_credentials(&bad_profile).is_err());
        let keys: Vec<Value> = (0..30)
            .map(|i| json!({"uid": format!("AKIAIOSFODNN7EXAMP{i:02}"), "resourceType": "ACCESS_KEY"}))
            .collect();
        let many = sequence("AttackSequence:IAM/CompromisedCredentials", Value::Array(keys), json!([]));
        assert!(sequence_credentials(&many).is_err());
        let malformed = sequence(
            "AttackSequence:IAM/CompromisedCredentials",
            json!([{"uid": "not-a-key", "resourceType": "ACCESS_KEY"}]),
            json!([]),
        );
        assert!(sequence_credentials(&malformed).is_err());
    }
}
