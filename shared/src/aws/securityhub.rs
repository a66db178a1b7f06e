//! Security Hub as a sink: after acting, the originating finding is updated (workflow status and a
//! note naming the case and what was done), and a signal that is not a finding itself (an abuse
//! report, an alarm) becomes one ASFF finding of Firebreak's own, so the incident and the response
//! are visible where the security team looks.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingIdentifier, Note, NoteUpdate, Resource, Severity, SeverityLabel,
    WorkflowStatus, WorkflowUpdate,
};

use crate::aws::{AwsError, AwsResultExt};

/// Security Hub notes are at most 512 characters.
const MAX_NOTE: usize = 512;
const MAX_DESCRIPTION: usize = 1024;
const MAX_TITLE: usize = 256;
/// The product field of a Firebreak finding that names its case (what "Release" reads).
pub const CASE_FIELD: &str = "firebreak/case-id";

pub const UPDATED_BY: &str = "firebreak";

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One finding to update: its ASFF `Id` and `ProductArn`, as the event gave them.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRef {
    pub id: String,
    pub product_arn: String,
}

/// Marks findings NOTIFIED with a note. NOTIFIED (not RESOLVED): the instance is contained, the
/// incident is not over. Security Hub re-publishes the updated finding as an import; Firebreak
/// only acts on NEW findings, so that does not loop.
pub async fn update_findings(
    securityhub: &aws_sdk_securityhub::Client,
    findings: &[FindingRef],
    note: &str,
) -> Result<(), AwsError> {
    let identifiers = findings
        .iter()
        .map(|f| AwsSecurityFindingIdentifier::builder().id(&f.id).product_arn(&f.product_arn).build())
        .collect::<Vec<_>>();
    let updated = securityhub
        .batch_update_findings()
        .set_finding_identifiers(Some(identifiers))
        .workflow(WorkflowUpdate::builder().status(WorkflowStatus::Notified).build())
        .note(NoteUpdate::builder().text(cut(note, MAX_NOTE)).updated_by(UPDATED_BY).build())
        .send()
        .await
        .aws("BatchUpdateFindings")?;
    match updated.unprocessed_findings().first() {
        None => Ok(()),
        Some(unprocessed) => Err(AwsError {
            action: "BatchUpdateFindings",
            code: unprocessed.error_code().unwrap_or("Unprocessed").to_string(),
            message: format!(
                "{} finding(s) not updated: {}",
                updated.unprocessed_findings().len(),
                unprocessed.error_message().unwrap_or_default()
            ),
        }),
    }
}

/// What Firebreak's own finding says about an incident that arrived as something else.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFinding {
    pub case_id: String,
    pub account_id: String,
    pub region: String,
    /// Health event type code or alarm name.
    pub signal_type: String,
    pub signal_id: String,
    /// `firebreak/abuse-report`.
    pub generator: String,
    pub title: String,
    /// What happened and what was done, for the finding's description and note.
    pub description: String,
    pub instance_ids: Vec<String>,
    pub severity: SeverityLabel,
    pub now: String,
}

impl IncidentFinding {
    /// The ASFF `Id`: derived from the case, so a redelivered signal updates the same finding.
    pub fn finding_id(&self) -> String {
        format!("firebreak/{}", self.case_id)
    }

    pub fn product_arn(&self) -> String {
        let partition = crate::events::partition_of(&self.region);
        format!("arn:{partition}:securityhub:{}:{}:product/{}/default", self.region, self.account_id, self.account_id)
    }

    pub fn to_asff(&self) -> AwsSecurityFinding {
        let mut resources: Vec<Resource> = self
            .instance_ids
            .iter()
            .map(|id| {
                Resource::builder()
                    .r#type("AwsEc2Instance")
                    .id(format!(
                        "arn:{}:ec2:{}:{}:instance/{id}",
                        crate::events::partition_of(&self.region),
                        self.region,
                        self.account_id
                    ))
                    .region(&self.region)
                    .partition(aws_sdk_securityhub::types::Partition::Aws)
                    .build()
            })
            .collect();
        if resources.is_empty() {
            resources.push(
                Resource::builder()
                    .r#type("AwsAccount")
                    .id(format!("AWS::::Account:{}", self.account_id))
                    .region(&self.region)
                    .build(),
            );
        }
        AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(self.finding_id())
            .product_arn(self.product_arn())
            .generator_id(&self.generator)
            .aws_account_id(&self.account_id)
            .region(&self.region)
            .types(format!("Unusual Behaviors/Network Flow/{}", self.signal_type.replace('/', "-")))
            .created_at(&self.now)
            .updated_at(&self.now)
            .severity(Severity::builder().label(self.severity.clone()).build())
            .title(cut(&self.title, MAX_TITLE))
            .description(cut(&self.description, MAX_DESCRIPTION))
            .set_resources(Some(resources))
            .product_fields(CASE_FIELD, &self.case_id)
            .product_fields("firebreak/signal-id", cut(&self.signal_id, 1024))
            .product_fields("firebreak/signal-type", &self.signal_type)
            .note(
                Note::builder()
                    .text(cut(&self.description, MAX_NOTE))
                    .updated_by(UPDATED_BY)
                    .updated_at(&self.now)
                    .build(),
            )
            .build()
    }
}

/// Imports (or, on redelivery, updates) Firebreak's own finding about an incident.
pub async fn import_incident(
    securityhub: &aws_sdk_securityhub::Client,
    incident: &IncidentFinding,
) -> Result<String, AwsError> {
    let imported =
        securityhub.batch_import_findings().findings(incident.to_asff()).send().await.aws("BatchImportFindings")?;
    if let Some(failed) = imported.failed_findings().first() {
        return Err(AwsError {
            action: "BatchImportFindings",
            code: failed.error_code().unwrap_or("Failed").to_string(),
            message: failed.error_message().unwrap_or_default().to_string(),
        });
    }
    Ok(incident.finding_id())
}

/// BatchImportFindings takes at most 100 findings per call.
const FINDINGS_PER_IMPORT: usize = 100;

/// The ACTIVE findings of `account_id` whose GeneratorId starts with `generator_prefix`, all
/// pages. moto ignores GetFindings filters, so the same conditions are checked again on what
/// comes back.
pub async fn active_findings_by_generator(
    securityhub: &aws_sdk_securityhub::Client,
    account_id: &str,
    generator_prefix: &str,
) -> Result<Vec<AwsSecurityFinding>, AwsError> {
    use aws_sdk_securityhub::types::{AwsSecurityFindingFilters, RecordState, StringFilter, StringFilterComparison};
    let filter = |value: &str, comparison: StringFilterComparison| {
        StringFilter::builder().value(value).comparison(comparison).build()
    };
    let filters = AwsSecurityFindingFilters::builder()
        .generator_id(filter(generator_prefix, StringFilterComparison::Prefix))
        .aws_account_id(filter(account_id, StringFilterComparison::Equals))
        .record_state(filter("ACTIVE", StringFilterComparison::Equals))
        .build();
    let mut found = Vec::new();
    let mut pages = securityhub.get_findings().filters(filters).max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        found.extend(
            page.aws("GetFindings")?
                .findings()
                .iter()
                .filter(|f| {
                    f.generator_id().is_some_and(|g| g.starts_with(generator_prefix))
                        && f.aws_account_id() == Some(account_id)
                        && f.record_state() == Some(&RecordState::Active)
                })
                .cloned(),
        );
    }
    Ok(found)
}

/// Imports findings (new ones, or updates of the same ids), 100 per call; the number imported.
/// The first finding Security Hub refuses fails the whole, naming it.
pub async fn import_findings(
    securityhub: &aws_sdk_securityhub::Client,
    findings: &[AwsSecurityFinding],
) -> Result<usize, AwsError> {
    let mut imported = 0;
    for chunk in findings.chunks(FINDINGS_PER_IMPORT) {
        let response = securityhub
            .batch_import_findings()
            .set_findings(Some(chunk.to_vec()))
            .send()
            .await
            .aws("BatchImportFindings")?;
        if let Some(failed) = response.failed_findings().first() {
            return Err(AwsError {
                action: "BatchImportFindings",
                code: failed.error_code().unwrap_or("Failed").to_string(),
                message: format!(
                    "{} of {} findings refused; first {}: {}",
                    response.failed_count().unwrap_or(0),
                    chunk.len(),
                    failed.id().unwrap_or_default(),
                    failed.error_message().unwrap_or_default()
                ),
            });
        }
        imported += chunk.len();
    }
    Ok(imported)
}
