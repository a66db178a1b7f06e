//! Timestamps as the newer finding shapes carry them (OCSF, attack sequences, Runtime Monitoring):
//! ISO strings in some published samples, epoch seconds or milliseconds in others. Each becomes the
//! ISO string the native GuardDuty event carries, so reports and cutoffs read one form.

use serde_json::Value;

use super::EventError;

/// A timestamp as the ISO string GuardDuty events carry: ISO strings pass through (checked
/// for shape), numbers are epoch seconds, or milliseconds when too large to be seconds (OCSF's
/// `timestamp_t` is milliseconds; some samples carry seconds).
pub fn iso_time(value: &Value) -> Result<String, EventError> {
    let invalid = |why| EventError::InvalidField {
        field: "detail.findings[] timestamp",
        value: value.to_string().chars().take(64).collect(),
        why,
    };
    match value {
        Value::String(text) => {
            let b = text.as_bytes();
            let shaped = (20..=40).contains(&text.len())
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[4] == b'-'
                && b[10] == b'T'
                && text.bytes().all(|c| c.is_ascii_alphanumeric() || b"-:.+".contains(&c));
            shaped.then(|| text.clone()).ok_or_else(|| invalid("expected an ISO 8601 time"))
        }
        Value::Number(number) => {
            let raw = number.as_i64().filter(|n| *n >= 0).ok_or_else(|| invalid("expected a positive epoch time"))?;
            // 10^11 seconds is the year 5138; anything larger is milliseconds.
            let (seconds, millis) = if raw >= 100_000_000_000 { (raw / 1000, raw % 1000) } else { (raw, 0) };
            if seconds > 253_402_300_799 {
                return Err(invalid("after the year 9999"));
            }
            Ok(format_epoch(seconds, millis))
        }
        _ => Err(invalid("expected an ISO 8601 string or epoch seconds / milliseconds")),
    }
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm): no date crate for one format.
fn format_epoch(seconds: i64, millis: i64) -> String {
    let (days, rem) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
}
