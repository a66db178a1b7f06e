//! Gaps as ASFF findings: one per gap, updated on every run under the same id, and the update
//! that resolves a finding whose gap is gone. No AWS call.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, Partition, Recommendation, RecordState, Remediation, Resource,
    Severity, SeverityLabel, Workflow, WorkflowStatus,
};

use super::checks::{finding_id_prefix, Check};
use super::evaluate::Gap;

fn product_arn(account_id: &str, region: &str) -> String {
    let partition = crate::events::partition_of(region);
    format!("arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default")
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The ASFF finding for a gap. `created_at` is the first import's, kept on every update.
pub fn gap_finding(gap: &Gap, account_id: &str, region: &str, created_at: &str, now: &str) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(&gap.finding_id)
        .product_arn(product_arn(account_id, region))
        .generator_id(gap.check.generator_id())
        .aws_account_id(account_id)
        .types("Software and Configuration Checks/AWS Security Best Practices")
        .created_at(created_at)
        .updated_at(now)
        .severity(Severity::builder().label(SeverityLabel::from(gap.severity)).build())
        .title(truncate(&gap.title, 256))
        .description(truncate(&gap.description, 1024))
        .remediation(
            Remediation::builder().recommendation(Recommendation::builder().text(&gap.recommendation).build()).build(),
        )
        .resources(
            Resource::builder()
                .r#type(gap.resource_type)
                .id(&gap.resource_id)
                .partition(Partition::Aws)
                .region(region)
                .build(),
        )
        .compliance(Compliance::builder().status(ComplianceStatus::Failed).build())
        .workflow(Workflow::builder().status(WorkflowStatus::New).build())
        .record_state(RecordState::Active)
        .product_fields("firebreak/check", gap.check.slug())
        .build()
}

/// The update that closes a finding whose gap is gone: the same finding, ARCHIVED, PASSED, RESOLVED.
pub fn resolved_finding(previous: &AwsSecurityFinding, now: &str) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .set_schema_version(previous.schema_version().map(str::to_string))
        .set_id(previous.id().map(str::to_string))
        .set_product_arn(previous.product_arn().map(str::to_string))
        .set_generator_id(previous.generator_id().map(str::to_string))
        .set_aws_account_id(previous.aws_account_id().map(str::to_string))
        .set_types(Some(previous.types().to_vec()))
        .set_created_at(previous.created_at().map(str::to_string))
        .updated_at(now)
        .set_severity(previous.severity().cloned())
        .set_title(previous.title().map(str::to_string))
        .set_description(previous.description().map(str::to_string))
        .set_resources(Some(previous.resources().to_vec()))
        .set_product_fields(previous.product_fields().cloned())
        .compliance(Compliance::builder().status(ComplianceStatus::Passed).build())
        .workflow(Workflow::builder().status(WorkflowStatus::Resolved).build())
        .record_state(RecordState::Archived)
        .build()
}

/// What one run imports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Import {
    /// The gaps' findings first, then the resolutions.
    pub findings: Vec<AwsSecurityFinding>,
    pub gaps: usize,
    /// The ids of the findings resolved.
    pub resolved: Vec<String>,
}

/// Every gap's finding (keeping the CreatedAt of its earlier import), and the resolution of each
/// earlier finding whose gap is gone. `previous` is `None` when it could not be read: then the
/// gaps are imported as new and nothing is resolved. Only a check that ran can say its gap closed,
/// and only findings of this account and region are ours to close.
pub fn to_import(
    gaps: &[Gap],
    evaluated: &BTreeSet<Check>,
    previous: Option<&[AwsSecurityFinding]>,
    account_id: &str,
    region: &str,
    now: &str,
) -> Import {
    let previous: BTreeMap<&str, &AwsSecurityFinding> =
        previous.unwrap_or_default().iter().filter_map(|f| Some((f.id()?, f))).collect();
    let mut findings: Vec<AwsSecurityFinding> = gaps
        .iter()
        .map(|gap| {
            let created = previous.get(gap.finding_id.as_str()).and_then(|f| f.created_at()).unwrap_or(now);
            gap_finding(gap, account_id, region, created, now)
        })
        .collect();
    let current: BTreeSet<&str> = gaps.iter().map(|g| g.finding_id.as_str()).collect();
    let ours = finding_id_prefix(account_id, region);
    let mut resolved = Vec::new();
    for (id, finding) in previous {
        let check = finding.generator_id().and_then(Check::from_generator_id);
        if !current.contains(id) && id.starts_with(&ours) && check.is_some_and(|c| evaluated.contains(&c)) {
            findings.push(resolved_finding(finding, now));
            resolved.push(id.to_string());
        }
    }
    Import { findings, gaps: gaps.len(), resolved }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posture::config::PostureConfig;
    use crate::posture::evaluate::evaluate;
    use crate::posture::evaluate::tests::{clean, NOW};

    const DAY: i64 = 24 * 60 * 60;

    #[test]
    fn finding_ids_are_deterministic_and_findings_carry_the_asff_fields() {
        let mut facts = clean();
        facts.guardduty_enabled = Ok(false);
        let (first, _) = evaluate(&facts, &PostureConfig::default(), NOW);
        let (second, _) = evaluate(&facts, &PostureConfig::default(), NOW + DAY);
        assert_eq!(first[0].finding_id, second[0].finding_id);
        assert_eq!(
            first[0].finding_id,
            "firebreak/audit-posture/123456789012/us-east-1/guardduty-enabled/AWS::::Account:123456789012"
        );
        let finding =
            gap_finding(&first[0], "123456789012", "us-east-1", "2026-11-01T00:00:00Z", "2026-11-24T06:00:00Z");
        assert_eq!(finding.generator_id(), Some("firebreak-audit-posture/guardduty-enabled"));
        assert_eq!(
            finding.product_arn(),
            Some("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default")
        );
        assert_eq!(finding.created_at(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(finding.record_state(), Some(&RecordState::Active));
        assert_eq!(finding.compliance().and_then(|c| c.status()), Some(&ComplianceStatus::Failed));
        assert_eq!(finding.severity().and_then(|s| s.label()), Some(&SeverityLabel::High));
        assert_eq!(Check::from_generator_id(finding.generator_id().unwrap()), Some(Check::GuarddutyEnabled));

        let closed = resolved_finding(&finding, "2026-11-25T06:00:00Z");
        assert_eq!(closed.id(), finding.id());
        assert_eq!(closed.created_at(), finding.created_at());
        assert_eq!(closed.record_state(), Some(&RecordState::Archived));
        assert_eq!(closed.compliance().and_then(|c| c.status()), Some(&ComplianceStatus::Passed));
        assert_eq!(closed.workflow().and_then(|w| w.status()), Some(&WorkflowStatus::Resolved));
    }

    #[test]
    fn gaps_keep_their_first_import_and_only_evaluated_closed_gaps_of_this_region_resolve() {
        let (account, region, then, now) =
            ("123456789012", "us-east-1", "2026-11-01T00:00:00Z", "2026-11-24T06:00:00Z");
        let mut facts = clean();
        facts.guardduty_enabled = Ok(false);
        facts.logging_multi_region_trail = Ok(None);
        facts.root = Err(crate::aws::AwsError {
            action: "GetAccountSummary",
            code: "AccessDenied".into(),
            message: "no".into(),
        });
        let (before, _) = evaluate(&facts, &PostureConfig::default(), NOW);
        let mut previous: Vec<AwsSecurityFinding> =
            before.iter().map(|g| gap_finding(g, account, region, then, then)).collect();
        let root = crate::posture::checks::finding_id(account, region, Check::RootMfa, "AWS::::Account:123456789012");
        let other_region = crate::posture::checks::finding_id(account, "eu-west-1", Check::GuarddutyEnabled, "x");
        for (id, check) in [(root, Check::RootMfa), (other_region, Check::GuarddutyEnabled)] {
            previous.push(AwsSecurityFinding::builder().id(id).generator_id(check.generator_id()).build());
        }

        // The trail is fixed; GuardDuty is not; the root summary still cannot be read.
        facts.logging_multi_region_trail = Ok(Some("arn:trail".into()));
        let (gaps, evaluated) = evaluate(&facts, &PostureConfig::default(), NOW);
        let import = to_import(&gaps, &evaluated, Some(&previous), account, region, now);
        assert_eq!(import.gaps, 1);
        assert_eq!(import.findings[0].created_at(), Some(then), "CreatedAt of the first import is kept");
        assert_eq!(import.resolved, [before[1].finding_id.clone()], "only the trail's finding resolves");
        assert_eq!(import.findings.len(), 2);

        let unread = to_import(&gaps, &evaluated, None, account, region, now);
        assert_eq!((unread.findings.len(), unread.resolved.len()), (1, 0));
        assert_eq!(unread.findings[0].created_at(), Some(now));
    }
}
