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
