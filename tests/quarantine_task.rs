//! quarantine-task against moto: a Runtime Monitoring finding on an ECS `awsvpc` task isolates the
//! task's ENI exactly as an instance's (recorded, through the untracking group, restorable by
//! release); redelivery, dry run, exemption and samples; an ECS attack sequence's tasks in one
//! case. EC2 is moto (the task's ENI, the isolation groups, the moves, the record, the release).
//! ECS is answered by aws-smithy-mocks, with the exact requests checked: moto 5.2 implements
//! RunTask (FARGATE, awsvpc, the ENI attachment) and DescribeTasks, but writes each container's
//! `cpu` and `memory` as numbers where the ECS API has strings, so the Rust SDK refuses every
//! DescribeTasks answer; and it lacks UpdateTaskProtection / GetTaskProtection altogether.

use std::collections::BTreeMap;

use std::sync::{Arc, Mutex};

use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::get_task_protection::GetTaskProtectionOutput;
use aws_sdk_ecs::operation::tag_resource::TagResourceOutput;
use aws_sdk_ecs::operation::update_task_protection::UpdateTaskProtectionOutput;
use aws_sdk_ecs::types::{Attachment, Cluster, ClusterField, KeyValuePair, ProtectedTask, Tag, Task, TaskField};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use firebreak::engine::FunctionError;
use firebreak::release::ReleaseConfig;
use firebreak::tags;
use firebreak::task::TaskConfig;
use firebreak_tests::ledger::{self, TABLE};
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const RUNTIME_EVENT: &str = "quarantine-task/guardduty-runtime-reverse-shell-ecs.json";
const SAMPLE_EVENT: &str = "quarantine-task/guardduty-runtime-cryptominer-ecs-sample.json";
const SEQUENCE_EVENT: &str = "quarantine-task/guardduty-attack-sequence-ecs-compromised-cluster.json";

struct Bench {
    moto: Moto,
    scenario: Scenario,
    /// What ECS holds in the mock: each task's tags (TagResource adds to them).
    task_tags: Arc<Mutex<BTreeMap<String, BTreeMap<String, String>>>>,
    /// Each task's scale-in protection (UpdateTaskProtection sets it), and every update sent:
    /// (task, protectionEnabled, expiresInMinutes).
    protection: Arc<Mutex<BTreeMap<String, bool>>>,
    protection_updates: Arc<Mutex<Vec<ProtectionUpdate>>>,
}

/// An UpdateTaskProtection request: (task, protectionEnabled, expiresInMinutes).
type ProtectionUpdate = (String, bool, Option<i32>);

/// A Fargate task in awsvpc mode: its ENI (real, on moto) in `app_group`.
#[derive(Clone)]
struct RunningTask {
    cluster: String,
    task_arn: String,
    eni_id: String,
    vpc_id: String,
    app_group: String,
    cluster_tags: Vec<(String, String)>,
    /// `family:<name>` (RunTask) or `service:<name>` (a service's task).
    group: String,
}

async fn bench() -> Bench {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    Bench { moto, scenario, task_tags: Arc::default(), protection: Arc::default(), protection_updates: Arc::default() }
}

impl Bench {
    async fn cluster_with_tasks(&self, cluster: &str, count: usize, cluster_tags: &[(&str, &str)]) -> Vec<RunningTask> {
        let ec2 = &self.scenario.ec2;
        let vpc = ec2.create_vpc().cidr_block("10.30.0.0/16").send().await.unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let subnet = ec2.create_subnet().vpc_id(&vpc_id).cidr_block("10.30.1.0/24").send().await.unwrap();
        let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
        let group = ec2.create_security_group().group_name("payments-api").description("app").vpc_id(&vpc_id);
        let app_group = group.send().await.unwrap().group_id().unwrap().to_string();
        let mut tasks = Vec::new();
        for n in 0..count {
            let eni = ec2.create_network_interface().subnet_id(&subnet_id).groups(&app_group).send().await.unwrap();
            let eni_id = eni.network_interface().unwrap().network_interface_id().unwrap().to_string();
            let task_arn = format!("arn:aws:ecs:us-east-1:123456789012:task/{cluster}/{n:x}{}", "0".repeat(31));
            self.task_tags.lock().unwrap().insert(task_arn.clone(), BTreeMap::new());
            tasks.push(RunningTask {
                cluster: cluster.to_string(),
                task_arn,
                eni_id,
                vpc_id: vpc_id.clone(),
                app_group: app_group.clone(),
                cluster_tags: cluster_tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                group: "family:payments-api".into(),
            });
        }
        tasks
    }

    async fn eni(&self, eni_id: &str) -> (Vec<String>, BTreeMap<String, String>) {
        let found = self.scenario.ec2.describe_network_interfaces().network_interface_ids(eni_id).send().await.unwrap();
        let eni = &found.network_interfaces()[0];
        let groups = eni.groups().iter().map(|g| g.group_id().unwrap().to_string()).collect();
        let tags =
            eni.tag_set().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect();
        (groups, tags)
    }

    async fn task_tags(&self, task_arn: &str) -> BTreeMap<String, String> {
        self.task_tags.lock().unwrap().get(task_arn).cloned().unwrap_or_default()
    }

    /// The ECS the function sees: DescribeTasks answers with each task's ENI attachment, group
    /// and tags; DescribeClusters with the cluster's tags; TagResource records.
    fn mocked_ecs(&self, tasks: &[RunningTask]) -> aws_sdk_ecs::Client {
        let known = tasks.to_vec();
        let state = self.task_tags.clone();
        let describe = mock!(aws_sdk_ecs::Client::describe_tasks)
            .match_requests(|r| r.include() == [TaskField::Tags] && r.tasks().len() == 1)
            .then_compute_output(move |r| {
                let mut out = DescribeTasksOutput::builder();
                if let Some(t) =
                    known.iter().find(|t| Some(t.cluster.as_str()) == r.cluster() && r.tasks()[0] == t.task_arn)
                {
                    let eni = KeyValuePair::builder().name("networkInterfaceId").value(&t.eni_id).build();
                    let tags = state.lock().unwrap().get(&t.task_arn).cloned().unwrap_or_default();
                    let mut task = Task::builder()
                        .task_arn(&t.task_arn)
                        .cluster_arn(format!("arn:aws:ecs:us-east-1:123456789012:cluster/{}", t.cluster))
                        .last_status("RUNNING")
                        .group(&t.group)
                        .attachments(Attachment::builder().r#type("ElasticNetworkInterface").details(eni).build());
                    for (k, v) in tags {
                        task = task.tags(Tag::builder().key(k).value(v).build());
                    }
                    out = out.tasks(task.build());
                }
                out.build()
            });
        let known = tasks.to_vec();
        let clusters = mock!(aws_sdk_ecs::Client::describe_clusters)
            .match_requests(|r| r.include() == [ClusterField::Tags])
            .then_compute_output(move |r| {
                let name = r.clusters().first().cloned().unwrap_or_default();
                let mut cluster = Cluster::builder().cluster_name(&name);
                for (k, v) in
                    known.iter().find(|t| t.cluster == name).map(|t| t.cluster_tags.clone()).unwrap_or_default()
                {
                    cluster = cluster.tags(Tag::builder().key(k).value(v).build());
                }
                DescribeClustersOutput::builder().clusters(cluster.build()).build()
            });
        let state = self.task_tags.clone();
        let tag = mock!(aws_sdk_ecs::Client::tag_resource).then_compute_output(move |r| {
            let mut all = state.lock().unwrap();
            let tags = all.entry(r.resource_arn().unwrap_or_default().to_string()).or_default();
            for t in r.tags() {
                tags.insert(t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string());
            }
            TagResourceOutput::builder().build()
        });
        let state = self.protection.clone();
        let get = mock!(aws_sdk_ecs::Client::get_task_protection).then_compute_output(move |r| {
            let arn = r.tasks().first().cloned().unwrap_or_default();
            let enabled = state.lock().unwrap().get(&arn).copied().unwrap_or(false);
            GetTaskProtectionOutput::builder()
                .protected_tasks(ProtectedTask::builder().task_arn(arn).protection_enabled(enabled).build())
                .build()
        });
        let (state, updates) = (self.protection.clone(), self.protection_updates.clone());
        let update = mock!(aws_sdk_ecs::Client::update_task_protection)
            .match_requests(|r| r.cluster().is_some() && r.tasks().len() == 1)
            .then_compute_output(move |r| {
                let (arn, enabled) = (r.tasks()[0].clone(), r.protection_enabled().unwrap_or(false));
                state.lock().unwrap().insert(arn.clone(), enabled);
                updates.lock().unwrap().push((arn, enabled, r.expires_in_minutes()));
                UpdateTaskProtectionOutput::builder().build()
            });
        mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe, &clusters, &tag, &get, &update])
    }

    /// release, with this ECS.
    async fn release(&self, tasks: &[RunningTask], case_id: &str) -> Value {
        let mut clients = self.moto.clients().await;
        clients.ecs = self.mocked_ecs(tasks);
        let release = release::Function {
            accounts: firebreak_tests::home_only(clients),
            config: ReleaseConfig {
                common: firebreak::engine::CommonConfig { cases_table: Some(TABLE.into()), ..Default::default() },
                isolation_group_name: "firebreak-isolation".into(),
            },
        };
        let request = json!({"release": {"case_id": case_id, "reason": "drill", "requested_by": "alice@example.com"}});
        release::handle(&release, LambdaEvent::new(request, Context::default())).await.expect("released")
    }

    async fn function(
        &self,
        tasks: &[RunningTask],
        configure: impl FnOnce(&mut TaskConfig),
    ) -> quarantine_task::Function {
        let mut config = TaskConfig::default();
        config.quarantine.common.cases_table = Some(TABLE.into());
        configure(&mut config);
        let mut clients = self.moto.clients().await;
        clients.ecs = self.mocked_ecs(tasks);
        quarantine_task::Function { accounts: firebreak_tests::home_only(clients), config }
    }
}

/// The sample, pointed at a real task and cluster.
fn runtime_event(sample: &str, task: &RunningTask) -> Value {
    let mut event = firebreak_tests::sample_event(sample);
    let details = &mut event["detail"]["resource"]["ecsClusterDetails"];
    details["name"] = json!(task.cluster);
    details["arn"] = json!(format!("arn:aws:ecs:us-east-1:123456789012:cluster/{}", task.cluster));
    details["taskDetails"]["arn"] = json!(task.task_arn);
    event
}

async fn handle(function: &quarantine_task::Function, event: Value) -> Result<Value, FunctionError> {
    quarantine_task::handle(function, LambdaEvent::new(event, Context::default())).await
}

#[tokio::test]
async fn a_reverse_shell_in_a_task_isolates_its_eni_once_and_release_restores_it() {
    let bench = bench().await;
    let dynamodb = ledger::create_table(&bench.moto).await;
    let task = bench.cluster_with_tasks("payments", 1, &[]).await.remove(0);
    let function = bench.function(std::slice::from_ref(&task), |_| {}).await;
    let event = runtime_event(RUNTIME_EVENT, &task);

    let response = handle(&function, event.clone()).await.expect("handled");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    let isolation = bench.scenario.groups_named(&task.vpc_id, "firebreak-isolation").await;
    assert_eq!(isolation.len(), 1);
    assert_eq!((isolation[0].1, isolation[0].2), (0, 0), "the isolation group has no rules");
    let (groups, eni_tags) = bench.eni(&task.eni_id).await;
    assert_eq!(groups, vec![isolation[0].0.clone()], "the task's ENI is isolated");
    assert_eq!(eni_tags.get(tags::ORIGINAL_GROUPS), Some(&task.app_group), "its original groups recorded on it");
    let case_id = response["case_id"].as_str().unwrap().to_string();
    let task_tags = bench.task_tags(&task.task_arn).await;
    assert_eq!(task_tags.get(tags::CASE), Some(&case_id));
    assert_eq!(task_tags.get(tags::FINDING_TYPE).map(String::as_str), Some("Execution:Runtime/ReverseShell"));
    let report = &response["reports"][0];
    assert_eq!(report["process"]["name"], "bash", "{report:#}");
    assert_eq!(report["process"]["lineage"][1]["name"], "node");
    let protect = report["steps"].as_array().unwrap().iter().find(|s| s["step"] == "protect_task").unwrap();
    assert_eq!(protect["outcome"], "skipped", "a RunTask task is no service's: {protect}");

    // The case records the original groups on the ENI, and the process.
    let cases = ledger::cases(&dynamodb).await;
    assert_eq!(cases.len(), 1);
    let recorded = cases[0].recorded();
    assert_eq!(recorded.get(&task.eni_id).and_then(|r| r.get(tags::ORIGINAL_GROUPS)), Some(&task.app_group));
    assert!(format!("{:?}", cases[0]).contains("php-fpm") || format!("{cases:?}").contains("bash"), "{cases:?}");

    // A redelivery changes nothing twice.
    let again = handle(&function, event).await.expect("handled");
    assert_eq!(again["outcome"], "contained", "{again:#}");
    let steps = again["reports"][0]["steps"].as_array().unwrap();
    assert!(steps.iter().filter(|s| s["step"] != "read_task").all(|s| s["outcome"] == "skipped"), "{again:#}");
    assert_eq!(bench.eni(&task.eni_id).await.0, vec![isolation[0].0.clone()]);
    assert_eq!(bench.scenario.groups_named(&task.vpc_id, "firebreak-isolation").await.len(), 1);
    assert_eq!(ledger::cases(&dynamodb).await.len(), 1);

    // Release puts the ENI back in its groups.
    let released = bench.release(std::slice::from_ref(&task), &case_id).await;
    assert_eq!(released["outcome"], "completed", "{released:#}");
    assert_eq!(bench.eni(&task.eni_id).await.0, vec![task.app_group.clone()], "back in its original group");
    assert_eq!(bench.task_tags(&task.task_arn).await.get(tags::RELEASED_CASE), Some(&case_id), "marked released");
}

#[tokio::test]
async fn a_service_task_protected_by_firebreak_is_unprotected_by_release_and_no_other() {
    let bench = bench().await;
    let _dynamodb = ledger::create_table(&bench.moto).await;
    let mut tasks = bench.cluster_with_tasks("payments", 2, &[]).await;
    for task in &mut tasks {
        task.group = "service:payments-api".into();
    }
    // The second was protected by its own deployment before the case.
    bench.protection.lock().unwrap().insert(tasks[1].task_arn.clone(), true);
    let function = bench.function(&tasks, |_| {}).await;

    let mut cases = Vec::new();
    for task in &tasks {
        let response = handle(&function, runtime_event(RUNTIME_EVENT, task)).await.expect("handled");
        assert_eq!(response["outcome"], "contained", "{response:#}");
        cases.push(response["case_id"].as_str().unwrap().to_string());
    }
    let (ours, theirs) = (&tasks[0].task_arn, &tasks[1].task_arn);
    assert_eq!(*bench.protection_updates.lock().unwrap(), vec![(ours.clone(), true, Some(2880))], "one protection");
    assert_eq!(bench.task_tags(ours).await.get(tags::TASK_PROTECTION_BEFORE).map(String::as_str), Some("false"));
    assert_eq!(bench.task_tags(theirs).await.get(tags::TASK_PROTECTION_BEFORE), None, "not Firebreak's");

    // The sample's finding names both tasks' case: one release for both.
    assert_eq!(cases[0], cases[1]);
    let released = bench.release(&tasks, &cases[0]).await;
    assert_eq!(released["outcome"], "completed", "{released:#}");
    let unprotect: Vec<&Value> =
        released["steps"].as_array().unwrap().iter().filter(|s| s["step"] == "unprotect_task").collect();
    assert_eq!(unprotect.len(), 1, "only the task Firebreak protected: {released:#}");
    assert_eq!((&unprotect[0]["resource"], &unprotect[0]["outcome"]), (&json!(ours), &json!("done")));
    assert_eq!(bench.protection.lock().unwrap().get(ours), Some(&false), "its service may replace it again");
    assert_eq!(bench.protection.lock().unwrap().get(theirs), Some(&true), "a protection from before the case stays");
    for task in [ours, theirs] {
        let tags = bench.task_tags(task).await;
        assert_eq!(tags.get(tags::RELEASED_CASE), Some(&cases[0]), "{task} is marked released: {tags:?}");
    }
    assert_eq!(bench.protection_updates.lock().unwrap().len(), 2, "one protection, one release");
}

#[tokio::test]
async fn a_dry_run_exempt_cluster_and_sample_finding_change_nothing() {
    let bench = bench().await;
    let task = bench.cluster_with_tasks("payments", 1, &[]).await.remove(0);
    let exempt = bench.cluster_with_tasks("breakglass", 1, &[("firebreak:exempt", "ir-team")]).await.remove(0);

    let both = [task.clone(), exempt.clone()];
    let dry = bench.function(&both, |c| c.quarantine.common.dry_run = true).await;
    let response = handle(&dry, runtime_event(RUNTIME_EVENT, &task)).await.expect("planned");
    assert_eq!(response["outcome"], "planned", "{response:#}");
    assert!(response.to_string().contains("isolate_network_interface"));

    let function = bench.function(&both, |_| {}).await;
    let response = handle(&function, runtime_event(RUNTIME_EVENT, &exempt)).await.expect("skipped");
    assert_eq!(response["outcome"], "skipped", "{response:#}");
    assert!(response["reason"].as_str().unwrap().contains("cluster carries the exemption tag"), "{response:#}");

    let response = handle(&function, runtime_event(SAMPLE_EVENT, &task)).await.expect("skipped");
    assert_eq!(response["outcome"], "skipped", "{response:#}");
    assert!(response["reason"].as_str().unwrap().contains("sample"), "{response:#}");

    for t in [&task, &exempt] {
        assert_eq!(bench.eni(&t.eni_id).await.0, vec![t.app_group.clone()], "{} untouched", t.task_arn);
        assert!(!bench.task_tags(&t.task_arn).await.contains_key(tags::CASE));
        assert!(bench.scenario.groups_named(&t.vpc_id, "firebreak-isolation").await.is_empty());
    }
}

#[tokio::test]
async fn an_ecs_attack_sequence_isolates_every_task_it_names_in_one_case() {
    let bench = bench().await;
    let _dynamodb = ledger::create_table(&bench.moto).await;
    let tasks = bench.cluster_with_tasks("payments", 3, &[]).await;
    let mut event = firebreak_tests::sample_event(SEQUENCE_EVENT);
    let resources = event["detail"]["service"]["detection"]["sequence"]["resources"].as_array_mut().unwrap();
    for (resource, task) in resources.iter_mut().filter(|r| r["resourceType"] == "ECS_TASK").zip(&tasks) {
        resource["uid"] = json!(task.task_arn);
    }
    let function = bench.function(&tasks, |_| {}).await;
    let response = handle(&function, event).await.expect("handled");
    assert_eq!(response["outcome"], "contained", "{response:#}");
    assert_eq!(response["reports"].as_array().unwrap().len(), 3);
    assert!(response["unresolved"].to_string().contains("ACCESS_KEY"), "{response:#}");
    let isolation = bench.scenario.groups_named(&tasks[0].vpc_id, "firebreak-isolation").await;
    let case_id = firebreak::case::case_id_for("5d7f9b1d3f5b47d9b1d3f5b7d9f1b3d5");
    for task in &tasks {
        assert_eq!(bench.eni(&task.eni_id).await.0, vec![isolation[0].0.clone()], "{} isolated", task.task_arn);
        assert_eq!(bench.task_tags(&task.task_arn).await.get(tags::CASE), Some(&case_id));
    }
}

#[test]
fn hostile_ecs_findings_are_refused_before_any_call() {
    let sample = firebreak_tests::sample_event(SEQUENCE_EVENT);
    assert!(firebreak::task::parse(&sample).is_ok());
    let runtime = firebreak_tests::sample_event(RUNTIME_EVENT);
    assert!(firebreak::task::parse(&runtime).is_ok());
    let hostile = firebreak_tests::workspace_root().join("tests/hostile");
    let mut refused = 0;
    for entry in std::fs::read_dir(&hostile).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_string_lossy().starts_with("ecs-") {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let error = firebreak::task::parse(&event).expect_err(&path.display().to_string());
        assert!(!error.to_string().is_empty());
        refused += 1;
    }
    assert!(refused >= 3, "{refused} ECS hostile events");
}

/// UpdateTaskProtection and GetTaskProtection are not implemented by moto: their exact requests
/// (protection on for 48 hours; off again by a release), answered by aws-smithy-mocks.
#[tokio::test]
async fn task_protection_sends_the_exact_requests() {
    use aws_sdk_ecs::operation::get_task_protection::GetTaskProtectionOutput;
    use aws_sdk_ecs::operation::update_task_protection::UpdateTaskProtectionOutput;
    use aws_sdk_ecs::types::{Failure, ProtectedTask};

    let arn = "arn:aws:ecs:us-east-1:123456789012:task/payments/7c3f2e1d0b9a48c6a5f4e3d2c1b0a998";
    let get = mock!(aws_sdk_ecs::Client::get_task_protection)
        .match_requests(move |r| r.cluster() == Some("payments") && r.tasks() == [arn])
        .then_output(move || {
            GetTaskProtectionOutput::builder()
                .protected_tasks(ProtectedTask::builder().task_arn(arn).protection_enabled(false).build())
                .build()
        });
    let update = mock!(aws_sdk_ecs::Client::update_task_protection)
        .match_requests(move |r| {
            r.cluster() == Some("payments")
                && r.tasks() == [arn]
                && r.protection_enabled() == Some(true)
                && r.expires_in_minutes() == Some(2880)
        })
        .then_output(|| UpdateTaskProtectionOutput::builder().build());
    let refused = mock!(aws_sdk_ecs::Client::update_task_protection).then_output(|| {
        UpdateTaskProtectionOutput::builder()
            .failures(Failure::builder().arn("x").reason("TASK_NOT_VALID").detail("not a service task").build())
            .build()
    });
    let off = mock!(aws_sdk_ecs::Client::update_task_protection)
        .match_requests(move |r| {
            r.cluster() == Some("payments")
                && r.tasks() == [arn]
                && r.protection_enabled() == Some(false)
                && r.expires_in_minutes().is_none()
        })
        .then_output(|| UpdateTaskProtectionOutput::builder().build());
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&get, &update, &refused, &off]);
    assert!(!firebreak::aws::ecs::task_protected(&client, "payments", arn).await.unwrap());
    firebreak::aws::ecs::protect_task(&client, "payments", arn).await.expect("protected");
    let error = firebreak::aws::ecs::protect_task(&client, "payments", arn).await.expect_err("a failure is an error");
    assert_eq!(error.code, "TASK_NOT_VALID");
    firebreak::aws::ecs::unprotect_task(&client, "payments", arn).await.expect("release turns it off");
    assert_eq!((get.num_calls(), update.num_calls(), off.num_calls()), (1, 1, 1));
}
