//! A billing alarm names no instance: the instances sending the most (`AWS/EC2 NetworkOut`,
//! summed over the window) are listed instead.

use std::time::Duration;

use serde::Serialize;

use crate::aws::metrics::{network_out, sending_instance_ids, MAX_QUERIES};
use crate::aws::AwsError;

/// One instance's outbound traffic over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopTalker {
    pub instance_id: String,
    pub network_out_bytes: f64,
}

/// The running instances that sent the most bytes over the window, highest first, at most
/// `count`. Instances with no data are left out; more instances than one GetMetricData call can
/// query are not ranked.
pub async fn top_talkers(
    ec2: &aws_sdk_ec2::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    window: Duration,
    count: usize,
) -> Result<Vec<TopTalker>, AwsError> {
    let instance_ids = sending_instance_ids(ec2, MAX_QUERIES).await?;
    if instance_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sums = network_out(cloudwatch, &instance_ids, window).await?;
    Ok(rank(&instance_ids, &sums, count))
}

/// Sums each instance's datapoints (results may come in several pages), highest first, at most
/// `count`; instances without datapoints are left out.
pub fn rank(instance_ids: &[String], results: &[(usize, Vec<f64>)], count: usize) -> Vec<TopTalker> {
    let mut talkers: Vec<TopTalker> = Vec::new();
    for (index, values) in results {
        let Some(instance_id) = instance_ids.get(*index) else { continue };
        if values.is_empty() {
            continue;
        }
        let bytes: f64 = values.iter().sum();
        match talkers.iter_mut().find(|t| &t.instance_id == instance_id) {
            Some(known) => known.network_out_bytes += bytes,
            None => talkers.push(TopTalker { instance_id: instance_id.clone(), network_out_bytes: bytes }),
        }
    }
    talkers.sort_by(|a, b| b.network_out_bytes.total_cmp(&a.network_out_bytes));
    talkers.truncate(count);
    talkers
}

/// Bytes as a person reads them: `209.3 GB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_talkers_are_summed_across_pages_and_ranked() {
        let ids: Vec<String> = ["i-0000000a", "i-0000000b", "i-0000000c"].map(String::from).to_vec();
        let results = vec![(0, vec![1.0e6]), (1, vec![98.4e9, 2.0e9]), (2, vec![]), (0, vec![5.0e6]), (7, vec![1.0])];
        let ranked = rank(&ids, &results, 5);
        assert_eq!(ranked.len(), 2, "no data, no entry; unknown ids ignored");
        assert_eq!(ranked[0], TopTalker { instance_id: "i-0000000b".into(), network_out_bytes: 100.4e9 });
        assert_eq!(ranked[1].network_out_bytes, 6.0e6);
        assert_eq!(rank(&ids, &results, 1).len(), 1);
    }

    #[test]
    fn bytes_read_like_a_bill() {
        assert_eq!(human_bytes(209.3e9), "209.3 GB");
        assert_eq!(human_bytes(512.0), "512.0 B");
    }
}
