//! SNS Publish: one human-readable summary per response, with the full JSON report attached as a
//! message attribute (e-mail subscribers read the text; automation subscribed through SQS or
//! Lambda reads the attribute).

use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::{AwsError, AwsResultExt};

/// The message attribute that carries the JSON report.
pub const REPORT_ATTRIBUTE: &str = "firebreak.report";
/// SNS refuses messages (body plus attributes) over 256 KiB; the report is cut to fit.
const MAX_REPORT_BYTES: usize = 200 * 1024;

/// Publishes the summary; returns the SNS message id.
pub async fn publish_summary(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    subject: &str,
    summary: &str,
    report: &serde_json::Value,
) -> Result<String, AwsError> {
    let mut report_json = report.to_string();
    if report_json.len() > MAX_REPORT_BYTES {
        report_json =
            serde_json::json!({"truncated": true, "note": "report too large for SNS; see the function's logs"})
                .to_string();
    }
    // SNS subjects: ASCII, no line breaks, at most 100 characters.
    let subject: String =
        subject.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { ' ' }).take(100).collect();
    let published =
        sns.publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(summary)
            .message_attributes(
                REPORT_ATTRIBUTE,
                MessageAttributeValue::builder().data_type("String").string_value(report_json).build().map_err(
                    |e| AwsError { action: "Publish", code: "InvalidAttribute".into(), message: e.to_string() },
                )?,
            )
            .send()
            .await
            .aws("Publish")?;
    Ok(published.message_id().unwrap_or_default().to_string())
}
