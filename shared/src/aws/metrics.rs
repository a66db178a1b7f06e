//! Outbound traffic per instance: the instances that can be sending (DescribeInstances) and what
//! each sent, `AWS/EC2 NetworkOut` summed per period (GetMetricData).

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use crate::aws::ec2::filter;
use crate::aws::{AwsError, AwsResultExt};

/// GetMetricData takes at most 500 queries per call.
pub const MAX_QUERIES: usize = 500;

/// The ids of the running (or stopping) instances, at most `max`.
pub async fn sending_instance_ids(ec2: &aws_sdk_ec2::Client, max: usize) -> Result<Vec<String>, AwsError> {
    let mut instance_ids = Vec::new();
    let mut pages = ec2
        .describe_instances()
        .filters(filter("instance-state-name", ["running", "stopping"]))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.aws("DescribeInstances")?;
        instance_ids.extend(
            page.reservations().iter().flat_map(|r| r.instances()).filter_map(|i| i.instance_id().map(str::to_string)),
        );
        if instance_ids.len() >= max {
            instance_ids.truncate(max);
            break;
        }
    }
    Ok(instance_ids)
}

/// Each instance's `NetworkOut` datapoints over the window, as (index into `instance_ids`,
/// values); an instance may appear in several pages. At most [`MAX_QUERIES`] instances.
pub async fn network_out(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    instance_ids: &[String],
    window: Duration,
) -> Result<Vec<(usize, Vec<f64>)>, AwsError> {
    let now = SystemTime::now();
    // One datapoint per instance for the whole window: the period is the window, in whole minutes.
    let period = i32::try_from(window.as_secs()).unwrap_or(i32::MAX).max(60) / 60 * 60;
    let queries: Vec<MetricDataQuery> = instance_ids
        .iter()
        .take(MAX_QUERIES)
        .enumerate()
        .map(|(n, id)| {
            MetricDataQuery::builder()
                .id(format!("i{n}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/EC2")
                                .metric_name("NetworkOut")
                                .dimensions(Dimension::builder().name("InstanceId").value(id).build())
                                .build(),
                        )
                        .period(period)
                        .stat("Sum")
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let mut sums: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut next_token = None;
    loop {
        let data = cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time((now - window).into())
            .end_time(now.into())
            .set_next_token(next_token)
            .send()
            .await
            .aws("GetMetricData")?;
        for result in data.metric_data_results() {
            if let Some(index) = result.id().and_then(|id| id.strip_prefix('i')).and_then(|n| n.parse::<usize>().ok()) {
                sums.push((index, result.values().to_vec()));
            }
        }
        next_token = data.next_token().map(str::to_string);
        if next_token.is_none() {
            break;
        }
    }
    Ok(sums)
}
