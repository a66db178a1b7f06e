//! EC2's request token buckets, as documented in "Request throttling for the Amazon EC2 API"
//! (<https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html>): one bucket per API
//! action per account and Region; each request takes a token; an empty bucket answers
//! `RequestLimitExceeded` (HTTP 503) and a throttled request takes no token; buckets refill at a
//! fixed rate up to their size. The numbers and their source are in docs/performance.md.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::http::response;

/// Bucket size and refill rate (tokens per second) of one EC2 action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub size: f64,
    pub refill: f64,
}

const fn limit(size: f64, refill: f64) -> Limit {
    Limit { size, refill }
}

/// The "Uncategorized actions" the quarantine calls, with their own buckets.
const UNCATEGORIZED: [(&str, Limit); 6] = [
    ("AssociateIamInstanceProfile", limit(100.0, 5.0)),
    ("CreateSnapshots", limit(100.0, 5.0)),
    ("CreateTags", limit(100.0, 10.0)),
    ("DeleteTags", limit(100.0, 10.0)),
    ("DisassociateIamInstanceProfile", limit(100.0, 5.0)),
    ("ModifyNetworkInterfaceAttribute", limit(100.0, 5.0)),
];
/// "Unfiltered and unpaginated non-mutating actions": requested with neither a filter nor
/// pagination, these take from a smaller bucket.
const UNFILTERED: [&str; 7] = [
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeNetworkInterfaces",
    "DescribeSecurityGroups",
    "DescribeSnapshots",
    "DescribeSpotInstanceRequests",
    "DescribeVolumes",
];
const NON_MUTATING: Limit = limit(100.0, 20.0);
const UNFILTERED_NON_MUTATING: Limit = limit(50.0, 10.0);
/// Every other mutating action (ModifyInstanceAttribute, StopInstances, CreateSecurityGroup...).
const MUTATING: Limit = limit(50.0, 5.0);
/// AuthorizeSecurityGroupIngress and RevokeSecurityGroupIngress are "resource-intensive".
const RESOURCE_INTENSIVE: Limit = limit(50.0, 5.0);

/// The bucket an EC2 request takes its token from: its name, and its limit.
pub fn bucket_of(operation: &str, params: &BTreeMap<String, String>) -> (String, Limit) {
    if let Some((_, l)) = UNCATEGORIZED.iter().find(|(name, _)| *name == operation) {
        return (operation.to_string(), *l);
    }
    let reads = ["Describe", "List", "Search", "Get"].iter().any(|p| operation.starts_with(p));
    if reads {
        let filtered = params.keys().any(|k| k.starts_with("Filter.") || k == "MaxResults" || k == "NextToken");
        if UNFILTERED.contains(&operation) && !filtered {
            return (format!("{operation} (unfiltered)"), UNFILTERED_NON_MUTATING);
        }
        return (operation.to_string(), NON_MUTATING);
    }
    if operation == "AuthorizeSecurityGroupIngress" || operation == "RevokeSecurityGroupIngress" {
        return (operation.to_string(), RESOURCE_INTENSIVE);
    }
    (operation.to_string(), MUTATING)
}

/// The documented limit of an action's (filtered) bucket, for the floor.
pub fn limit_of(operation: &str) -> Limit {
    bucket_of(operation, &BTreeMap::from([("Filter.1.Name".to_string(), String::new())])).1
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Every EC2 bucket of one account and Region, full at the start (the burst meets an account at
/// rest).
#[derive(Default)]
pub struct Buckets {
    buckets: Mutex<BTreeMap<String, Bucket>>,
}

impl Buckets {
    /// Takes a token for this request: `false` when its bucket is empty (throttled).
    pub fn admit(&self, operation: &str, params: &BTreeMap<String, String>) -> bool {
        let (name, l) = bucket_of(operation, params);
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        let bucket = buckets.entry(name).or_insert(Bucket { tokens: l.size, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * l.refill).min(l.size);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// EC2's answer to a throttled request.
pub fn request_limit_exceeded() -> Vec<u8> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>bench-throttled</RequestID></Response>";
    response(503, "text/xml;charset=UTF-8", &[], body)
}

/// Whether the request goes to EC2 (the only service whose buckets are modelled).
pub fn is_ec2(params: &BTreeMap<String, String>) -> bool {
    !matches!(params.get("Version").map(String::as_str), Some("2011-01-01" | "2015-12-01" | "2011-06-15"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_buckets_apply() {
        let none = BTreeMap::new();
        let filtered = BTreeMap::from([("Filter.1.Name".to_string(), "vpc-id".to_string())]);
        assert_eq!(bucket_of("ModifyNetworkInterfaceAttribute", &none).1, limit(100.0, 5.0));
        assert_eq!(bucket_of("CreateTags", &none).1, limit(100.0, 10.0));
        assert_eq!(bucket_of("ModifyInstanceAttribute", &none).1, limit(50.0, 5.0));
        assert_eq!(bucket_of("DescribeInstances", &none), ("DescribeInstances (unfiltered)".into(), limit(50.0, 10.0)));
        assert_eq!(bucket_of("DescribeInstances", &filtered), ("DescribeInstances".into(), limit(100.0, 20.0)));
        assert_eq!(bucket_of("DescribeInstanceAttribute", &none).1, limit(100.0, 20.0));
    }

    #[test]
    fn an_empty_bucket_throttles_until_it_refills() {
        let buckets = Buckets::default();
        let none = BTreeMap::new();
        let admitted = (0..120).filter(|_| buckets.admit("ModifyNetworkInterfaceAttribute", &none)).count();
        assert_eq!(admitted, 100);
        std::thread::sleep(std::time::Duration::from_millis(450));
        assert!(buckets.admit("ModifyNetworkInterfaceAttribute", &none), "2 tokens back after 0.4 s");
        assert!(buckets.admit("CreateTags", &none), "another action's bucket is untouched");
    }
}
