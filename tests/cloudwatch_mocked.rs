//! CloudWatch calls, tested as exact requests with aws-smithy-mocks: moto 5.2.1 cannot read the
//! RPC v2 CBOR requests of the current aws-sdk-cloudwatch (DescribeAlarms and GetMetricData are
//! answered 404), so these two calls run against mocks while everything else runs against moto.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, MetricDataResult};
use aws_smithy_mocks::{mock, mock_client};
use firebreak::posture::PostureConfig;
use firebreak_tests::scenario::Setup;
use firebreak_tests::{on_large_stack, sample_event, Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};

#[tokio::test]
async fn billing_alarm_ranking_reads_network_out_of_every_running_instance() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let quiet = scenario.compromised_instance(&Setup::bare()).await;
    let noisy = scenario.compromised_instance(&Setup::bare()).await;
    let expected: BTreeSet<String> = [quiet.instance_id.clone(), noisy.instance_id.clone()].into();
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(move |req| {
            let queries = req.metric_data_queries();
            let instances: BTreeSet<String> = queries
                .iter()
                .filter_map(|q| {
                    let stat = q.metric_stat()?;
                    let metric = stat.metric()?;
                    let ok = metric.namespace() == Some("AWS/EC2")
                        && metric.metric_name() == Some("NetworkOut")
                        && stat.stat() == Some("Sum");
                    let dimension = metric.dimensions().first()?;
                    let instance_id = dimension.value()?.to_string();
                    (ok && dimension.name() == Some("InstanceId")).then_some(instance_id)
                })
                .collect();
            instances == expected && req.start_time().is_some() && req.end_time().is_some()
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(MetricDataResult::builder().id("i0").values(100.0).values(50.0).build())
                .metric_data_results(MetricDataResult::builder().id("i1").values(9_000.0).build())
                .build()
        });
    let cloudwatch = mock_client!(aws_sdk_cloudwatch, [&rule]);
    let talkers = firebreak::respond::abuse::top_talkers(&scenario.ec2, &cloudwatch, Duration::from_secs(3 * 3600), 5)
        .await
        .expect("the request matched the rule");
    assert_eq!(rule.num_calls(), 1);
    let bytes: Vec<f64> = talkers.iter().map(|t| t.network_out_bytes).collect();
    assert_eq!(bytes, [9_000.0, 150.0], "summed per instance, highest first");
    let ids: BTreeSet<String> = talkers.iter().map(|t| t.instance_id.clone()).collect();
    assert_eq!(ids, [quiet.instance_id, noisy.instance_id].into());
}

fn alarms(metrics: &[(&str, &str)]) -> DescribeAlarmsOutput {
    let mut output = DescribeAlarmsOutput::builder();
    for (namespace, metric) in metrics {
        output = output.metric_alarms(
            MetricAlarm::builder()
                .alarm_name(format!("{metric}-alarm"))
                .namespace(*namespace)
                .metric_name(*metric)
                .build(),
        );
    }
    output.build()
}

async fn alarm_gaps_against(output: fn() -> DescribeAlarmsOutput) -> Vec<String> {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let rule = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(output);
    let mut clients = scenario.clients.clone();
    clients.cloudwatch = mock_client!(aws_sdk_cloudwatch, [&rule]);
    let function =
        audit_posture::Function { accounts: firebreak_tests::home_only(clients), config: PostureConfig::default() };
    let report = audit_posture::handle(
        &function,
        LambdaEvent::new(sample_event("audit-posture/schedule-daily.json"), Context::default()),
    )
    .await
    .expect("audit-posture runs");
    assert_eq!(rule.num_calls(), 1, "DescribeAlarms was called");
    report["reports"][0]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["check"].as_str().unwrap().to_string())
        .filter(|check| check.ends_with("-alarm"))
        .collect()
}

#[test]
fn missing_billing_and_traffic_alarms_are_gaps() {
    on_large_stack(|| async {
        let gaps = alarm_gaps_against(|| alarms(&[])).await;
        assert_eq!(gaps, ["billing-alarm", "network-out-alarm"]);
        let gaps = alarm_gaps_against(|| alarms(&[("AWS/Billing", "EstimatedCharges")])).await;
        assert_eq!(gaps, ["network-out-alarm"]);
        let gaps =
            alarm_gaps_against(|| alarms(&[("AWS/Billing", "EstimatedCharges"), ("AWS/EC2", "NetworkOut")])).await;
        assert!(gaps.is_empty(), "{gaps:?}");
    });
}
