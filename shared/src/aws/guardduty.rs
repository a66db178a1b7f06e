//! GuardDuty reads, as audit-posture makes them: which detectors exist, and whether one is on.

use aws_sdk_guardduty::types::DetectorStatus;
use aws_sdk_guardduty::Client;

use crate::aws::{AwsError, AwsResultExt};

/// The ids of every detector in the region (one at most, in practice), all pages.
pub async fn list_detectors(guardduty: &Client) -> Result<Vec<String>, AwsError> {
    let mut detectors = Vec::new();
    let mut pages = guardduty.list_detectors().into_paginator().send();
    while let Some(page) = pages.next().await {
        detectors.extend(page.aws("ListDetectors")?.detector_ids().iter().cloned());
    }
    Ok(detectors)
}

/// Whether the detector's status is ENABLED (a suspended detector raises no finding).
pub async fn detector_enabled(guardduty: &Client, detector_id: &str) -> Result<bool, AwsError> {
    let detector = guardduty.get_detector().detector_id(detector_id).send().await.aws("GetDetector")?;
    Ok(detector.status() == Some(&DetectorStatus::Enabled))
}

/// Asks GuardDuty for sample findings of `types` (marked as samples; Firebreak skips them):
/// they travel the same way as real ones, through EventBridge to the functions.
pub async fn create_sample_findings(guardduty: &Client, detector_id: &str, types: &[&str]) -> Result<(), AwsError> {
    let mut request = guardduty.create_sample_findings().detector_id(detector_id);
    for finding_type in types {
        request = request.finding_types(*finding_type);
    }
    request.send().await.aws("CreateSampleFindings")?;
    Ok(())
}
