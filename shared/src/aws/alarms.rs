//! CloudWatch alarms, as audit-posture reads them: which metrics the region's alarms watch.

use serde::Serialize;

use crate::aws::{AwsError, AwsResultExt};

/// A metric alarm and the metrics it watches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmFacts {
    pub alarm_name: String,
    pub namespace: Option<String>,
    pub metric_names: Vec<String>,
}

/// Every metric alarm of the region, all pages.
pub async fn describe_alarms(cloudwatch: &aws_sdk_cloudwatch::Client) -> Result<Vec<AlarmFacts>, AwsError> {
    let mut alarms = Vec::new();
    let mut pages = cloudwatch.describe_alarms().into_paginator().send();
    while let Some(page) = pages.next().await {
        for alarm in page.aws("DescribeAlarms")?.metric_alarms() {
            // A metric-math alarm names its metrics in `metrics[]` rather than `metricName`.
            let mut metric_names: Vec<String> = alarm.metric_name().map(str::to_string).into_iter().collect();
            metric_names.extend(
                alarm.metrics().iter().filter_map(|m| m.metric_stat()?.metric()?.metric_name().map(str::to_string)),
            );
            alarms.push(AlarmFacts {
                alarm_name: alarm.alarm_name().unwrap_or_default().to_string(),
                namespace: alarm.namespace().map(str::to_string),
                metric_names,
            });
        }
    }
    Ok(alarms)
}
