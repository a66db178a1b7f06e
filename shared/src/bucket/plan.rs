//! Deciding a containment (pure): the buckets as they are, against the configuration, become the
//! steps of one case. A step with nothing left to do is planned as a skip, and says why.

use std::fmt;

use serde::Serialize;

use super::action::BucketAction;
use super::observe::BucketFacts;
use super::policy::{self, Merged};
use super::{BUCKET_POLICY_BEFORE, CONTAINED_AT, POLICY_KEPT, PUBLIC_ACCESS_BLOCK_BEFORE};
use crate::aws::s3::PublicAccessBlock;
use crate::engine::{triage, CommonConfig, Decision, Plan, Planned, Skip};
use crate::tags;

/// Why contain-bucket leaves a finding alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum BucketSkip {
    Triage(Skip),
    /// No bucket it names can be contained: each is exempt or gone.
    NothingToContain {
        why: String,
    },
}

impl fmt::Display for BucketSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Triage(skip) => skip.fmt(f),
            Self::NothingToContain { why } => write!(f, "no bucket to contain: {why}"),
        }
    }
}

/// What `decide` needs besides the buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct Choices<'a> {
    pub case_id: &'a str,
    pub finding_id: &'a str,
    pub finding_type: &'a str,
    pub now: &'a str,
    /// Who the deny statement lets through: break-glass roles and Firebreak's own.
    pub exempt_principals: &'a [String],
}

pub fn decide(facts: &[BucketFacts], common: &CommonConfig, choices: &Choices) -> Decision<BucketAction, BucketSkip> {
    let mut steps = Vec::new();
    let mut left = Vec::new();
    for bucket in facts {
        let check = BucketAction::CheckBucket { bucket: bucket.bucket.clone() };
        if !bucket.exists {
            let why = "S3 has no such bucket in this account (deleted, or another account's)".to_string();
            left.push(format!("{}: {why}", bucket.bucket));
            steps.push(Planned::skip(check, why));
        } else if let Some(skip) = triage::exempt(common, &bucket.bucket.name, &bucket.tags) {
            left.push(skip.to_string());
            if facts.len() == 1 {
                return Decision::Skip(BucketSkip::Triage(skip));
            }
            steps.push(Planned::skip(check, skip.to_string()));
        } else {
            steps.extend(bucket_steps(bucket, choices));
        }
    }
    if left.len() == facts.len() {
        return Decision::Skip(BucketSkip::NothingToContain { why: left.join("; ") });
    }
    let names: Vec<&str> = facts.iter().map(|b| b.bucket.name.as_str()).collect();
    Decision::Act(Plan {
        title: format!("contain bucket(s) {}", names.join(", ")),
        case_id: choices.case_id.to_string(),
        steps,
    })
}

fn bucket_steps(bucket: &BucketFacts, choices: &Choices) -> Vec<Planned<BucketAction>> {
    let name = &bucket.bucket;
    let in_case = tags::open_case(&bucket.tags);
    // A bucket already in an open case keeps the record of how it was before that case.
    let earlier = |key: &str| in_case.and_then(|_| bucket.tags.get(key)).cloned();
    let block_before = match earlier(PUBLIC_ACCESS_BLOCK_BEFORE) {
        Some(record) => PublicAccessBlock::from_record(&record),
        None => bucket.public_access_block,
    };
    let policy_before = earlier(BUCKET_POLICY_BEFORE)
        .unwrap_or_else(|| if bucket.policy.is_some() { POLICY_KEPT } else { "none" }.to_string());
    let record = vec![
        (tags::CASE.to_string(), choices.case_id.to_string()),
        (tags::FINDING_ID.to_string(), choices.finding_id.to_string()),
        (tags::FINDING_TYPE.to_string(), choices.finding_type.to_string()),
        (CONTAINED_AT.to_string(), choices.now.to_string()),
        (PUBLIC_ACCESS_BLOCK_BEFORE.to_string(), block_before.map(|b| b.record()).unwrap_or_else(|| "none".into())),
        (BUCKET_POLICY_BEFORE.to_string(), policy_before),
    ];
    let tag = BucketAction::TagBucket { bucket: name.clone(), tags: record };
    let statement = policy::containment_statement(&name.arn, choices.exempt_principals);
    let denied = matches!(policy::merge(&name.name, bucket.policy.as_deref(), &statement), Ok(Merged::AlreadyThere));
    let deny = BucketAction::DenyBucketAccess { bucket: name.clone(), statement };
    let block = BucketAction::BlockPublicAccess { bucket: name.clone(), before: block_before };
    vec![
        Planned::unless(tag, in_case.map(String::as_str) == Some(choices.case_id), || {
            "already tagged with this case".into()
        }),
        Planned::unless(deny, denied, || format!("the policy has Firebreak's statement {}", policy::STATEMENT_SID)),
        Planned::unless(block, bucket.public_access_block == Some(PublicAccessBlock::ALL), || {
            "public access is blocked already".into()
        }),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::bucket::action::Bucket;
    use crate::engine::Action;

    fn facts(name: &str) -> BucketFacts {
        BucketFacts {
            bucket: Bucket::new("aws", name),
            exists: true,
            tags: BTreeMap::new(),
            policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#.into()),
            public_access_block: None,
        }
    }

    fn choices(exempt: &[String]) -> Choices<'_> {
        Choices {
            case_id: "fb-0123456789abcdef",
            finding_id: "f1",
            finding_type: "Exfiltration:S3/MaliciousIPCaller",
            now: "2026-11-30T03:00:00Z",
            exempt_principals: exempt,
        }
    }

    #[test]
    fn a_bucket_is_recorded_denied_and_blocked() {
        let exempt = vec!["arn:aws:iam::111122223333:role/Responder".to_string()];
        let Decision::Act(plan) = decide(&[facts("exports")], &CommonConfig::default(), &choices(&exempt)) else {
            panic!()
        };
        let names: Vec<_> = plan.steps.iter().map(|s| s.action.name()).collect();
        assert_eq!(names, ["tag_bucket", "deny_bucket_access", "block_public_access"]);
        assert!(plan.steps.iter().all(|s| s.skip.is_none()));
        assert_eq!(plan.steps[1].action.resource(), "arn:aws:s3:::exports");
        let BucketAction::TagBucket { tags, .. } = &plan.steps[0].action else { panic!() };
        assert!(tags.contains(&(BUCKET_POLICY_BEFORE.to_string(), POLICY_KEPT.to_string())));
        assert!(tags.contains(&(PUBLIC_ACCESS_BLOCK_BEFORE.to_string(), "none".to_string())));
    }

    #[test]
    fn done_steps_exempt_and_gone_buckets_are_skips() {
        let exempt = Vec::new();
        let choices = choices(&exempt);
        let Decision::Act(first) = decide(&[facts("exports")], &CommonConfig::default(), &choices) else { panic!() };
        let BucketAction::DenyBucketAccess { statement, .. } = &first.steps[1].action else { panic!() };
        let Ok(Merged::Policy(merged)) = policy::merge("exports", facts("exports").policy.as_deref(), statement) else {
            panic!()
        };
        let mut done = facts("exports");
        done.policy = Some(merged);
        done.public_access_block = Some(PublicAccessBlock::ALL);
        done.tags.insert(tags::CASE.into(), choices.case_id.into());
        let Decision::Act(again) = decide(&[done], &CommonConfig::default(), &choices) else { panic!() };
        assert!(again.steps.iter().all(|s| s.skip.is_some()), "{again}");

        let mut exempt_bucket = facts("private");
        exempt_bucket.tags.insert("firebreak:exempt".into(), "true".into());
        assert!(matches!(
            decide(&[exempt_bucket.clone()], &CommonConfig::default(), &choices),
            Decision::Skip(BucketSkip::Triage(Skip::Exempt { .. }))
        ));
        let Decision::Act(two) = decide(&[exempt_bucket, facts("exports")], &CommonConfig::default(), &choices) else {
            panic!()
        };
        assert_eq!(two.steps[0].action.name(), "check_bucket");
        assert!(two.steps[0].skip.as_deref().unwrap().contains("exemption tag"));
        let gone = BucketFacts { exists: false, ..facts("gone") };
        assert!(matches!(decide(&[gone], &CommonConfig::default(), &choices), Decision::Skip(_)));
    }
}
