//! A burst on the emulator (issue 19; not timed — the timed burst is the bench's): 20 instances in
//! 2 VPCs, sharing their VPC's security groups, each with two volumes; their 20 GuardDuty findings
//! handled by 10 concurrent handler calls, each with its own clients as ten Lambda processes
//! would have, racing for the same VPCs. Every ENI ends in its VPC's isolation group, every
//! instance has exactly one snapshot set, and each VPC has exactly one isolation group.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::types::{BlockDeviceMapping, EbsBlockDevice, InstanceNetworkInterfaceSpecification};
use firebreak_tests::scenario::CompromisedInstance;
use firebreak_tests::{Moto, Scenario};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
const INSTANCES_PER_VPC: usize = 10;
const PROCESSES: usize = 10;
const ISOLATION_GROUP: &str = "firebreak-isolation";

/// A VPC of web servers: one subnet, the two groups they all share, `count` instances.
async fn web_vpc(scenario: &Scenario, cidr: u8, count: usize) -> Vec<CompromisedInstance> {
    let ec2 = &scenario.ec2;
    let vpc = ec2.create_vpc().cidr_block(format!("10.{cidr}.0.0/16")).send().await.expect("CreateVpc");
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block(format!("10.{cidr}.1.0/24"))
        .availability_zone("us-east-1a")
        .send()
        .await
        .expect("CreateSubnet");
    let subnet_id = subnet.subnet().and_then(|s| s.subnet_id()).unwrap().to_string();
    let mut groups = Vec::new();
    for name in ["web-ssh-open", "web-backend"] {
        let group = ec2.create_security_group().group_name(name).description(name).vpc_id(&vpc_id).send().await;
        groups.push(group.expect("CreateSecurityGroup").group_id().unwrap().to_string());
    }
    let images = ec2.describe_images().owners("amazon").send().await.expect("DescribeImages");
    let image_id = images.images().iter().find_map(|i| i.image_id()).expect("moto ships AMIs").to_string();
    let volume = |device: &str| {
        BlockDeviceMapping::builder().device_name(device).ebs(EbsBlockDevice::builder().volume_size(8).build()).build()
    };
    let mut instances = Vec::new();
    for _ in 0..count {
        // The groups on the primary ENI, not the instance (moto's quirk: shared/README.md).
        let run = ec2
            .run_instances()
            .image_id(&image_id)
            .min_count(1)
            .max_count(1)
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&subnet_id)
                    .set_groups(Some(groups.clone()))
                    .build(),
            )
            .block_device_mappings(volume("/dev/xvda"))
            .block_device_mappings(volume("/dev/xvdf"))
            .send()
            .await
            .expect("RunInstances");
        let instance = &run.instances()[0];
        let interfaces = instance
            .network_interfaces()
            .iter()
            .map(|eni| (eni.network_interface_id().unwrap().to_string(), groups.clone()))
            .collect();
        instances.push(CompromisedInstance {
            instance_id: instance.instance_id().unwrap().to_string(),
            vpc_id: vpc_id.clone(),
            subnet_id: subnet_id.clone(),
            ssh_open_group_id: groups[0].clone(),
            backend_group_id: groups[1].clone(),
            interfaces,
            volume_ids: Vec::new(),
            autoscaling_group: None,
            target_group_arn: None,
            instance_profile_arn: None,
        });
    }
    instances
}

#[test]
fn twenty_findings_from_ten_concurrent_handlers_isolate_every_instance_once() {
    firebreak_tests::on_large_stack(burst);
}

async fn burst() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let mut instances = web_vpc(&scenario, 30, INSTANCES_PER_VPC).await;
    instances.extend(web_vpc(&scenario, 31, INSTANCES_PER_VPC).await);
    let queue: Vec<Value> = instances
        .iter()
        .enumerate()
        .map(|(n, instance)| {
            let mut event = scenario.guardduty_event(DOS_EVENT, instance);
            event["detail"]["id"] = format!("b0257{n:027x}").into();
            event
        })
        .collect();
    let queue = Arc::new(Mutex::new(queue));

    // Ten "processes": each its own clients, taking the next finding as Lambda hands them out.
    // Local tasks: the handler's future is not `Send` (nor need it be, on Lambda's one thread).
    let local = tokio::task::LocalSet::new();
    let mut processes = tokio::task::JoinSet::new();
    for _ in 0..PROCESSES {
        let function = quarantine_instance::Function {
            accounts: firebreak_tests::accounts(&moto).await,
            config: Default::default(),
        };
        let queue = queue.clone();
        processes.spawn_local_on(
            async move {
                let mut answers = Vec::new();
                loop {
                    let Some(event) = queue.lock().unwrap().pop() else { break };
                    let mut context = Context::default();
                    context.invoked_function_arn =
                        "arn:aws:lambda:us-east-1:123456789012:function:quarantine-instance".into();
                    answers.push(quarantine_instance::handle(&function, LambdaEvent::new(event, context)).await);
                }
                answers
            },
            &local,
        );
    }
    let answers: Vec<_> = local.run_until(processes.join_all()).await.into_iter().flatten().collect();
    assert_eq!(answers.len(), instances.len());
    for answer in &answers {
        let answer = answer.as_ref().unwrap_or_else(|e| panic!("a handler failed: {e:?}"));
        assert_eq!(answer["outcome"], "contained", "{answer:#}");
    }

    // Exactly one isolation group per VPC, and every ENI in its own VPC's.
    let mut isolation_of: BTreeMap<String, String> = BTreeMap::new();
    for vpc_id in instances.iter().map(|i| i.vpc_id.clone()).collect::<BTreeSet<_>>() {
        let groups = scenario.groups_named(&vpc_id, ISOLATION_GROUP).await;
        assert_eq!(groups.len(), 1, "one isolation group in {vpc_id}: {groups:?}");
        assert_eq!((groups[0].1, groups[0].2), (0, 0), "the isolation group has no rules");
        isolation_of.insert(vpc_id, groups[0].0.clone());
    }
    for instance in &instances {
        let view = scenario.view(&instance.instance_id, None).await;
        for (eni, groups) in &view.interface_groups {
            assert_eq!(groups, &vec![isolation_of[&instance.vpc_id].clone()], "{} {eni}", instance.instance_id);
        }
        assert_eq!(view.snapshots.len(), 2, "both volumes of {}: {:?}", instance.instance_id, view.snapshots);
        let sets: BTreeSet<&str> = view
            .snapshots
            .iter()
            .filter_map(|(_, tags)| tags.get("firebreak:snapshot-set").map(String::as_str))
            .collect();
        assert_eq!(sets.len(), 1, "one snapshot set for {}: {:?}", instance.instance_id, view.snapshots);
    }
}

/// EC2's answers to the moves, in the stub below: every ModifyNetworkInterfaceAttribute throttled,
/// ModifyInstanceAttribute accepted, or refused as EC2 refuses it for an instance with several ENIs.
struct Stub {
    refuse_instance: bool,
    seen: Mutex<Vec<BTreeMap<String, String>>>,
}

fn serve_moves(stream: std::net::TcpStream, stub: &Stub) -> std::io::Result<()> {
    use firebreak_tests::http::{read_request, response};
    use std::io::Write;
    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut client = stream;
    while let Some(request) = read_request(&mut reader)? {
        let params = request.form();
        let action = params.get("Action").cloned().unwrap_or_default();
        let seen = stub.seen.lock().map(|mut seen| {
            seen.push(params);
            seen.len()
        });
        let error = |status, code: &str| {
            let body = format!("<Response><Errors><Error><Code>{code}</Code><Message>{code}</Message></Error></Errors><RequestID>stub</RequestID></Response>");
            response(status, "text/xml", &[], &body)
        };
        let answer = match action.as_str() {
            // Throttled until the instance's action has been tried: then the ENI's bucket has a token.
            "ModifyNetworkInterfaceAttribute" if seen.unwrap_or(0) < 3 => error(503, "RequestLimitExceeded"),
            "ModifyInstanceAttribute" if stub.refuse_instance => error(400, "InvalidInstanceID"),
            "ModifyNetworkInterfaceAttribute" | "ModifyInstanceAttribute" => response(
                200,
                "text/xml",
                &[],
                &format!("<{action}Response><requestId>stub</requestId><return>true</return></{action}Response>"),
            ),
            _ => error(400, "NotStubbed"),
        };
        client.write_all(&answer)?;
        client.flush()?;
    }
    Ok(())
}

/// moto's ModifyInstanceAttribute `GroupId.N` changes its record of the instance but not its
/// ENI's groups (moto/ec2/models/instances.py, `modify_instance_security_groups`), so the move of
/// a sole ENI through its instance is checked here as the exact request, against a loopback stub
/// that throttles ModifyNetworkInterfaceAttribute as an empty bucket does.
#[tokio::test]
async fn a_throttled_move_of_a_sole_interface_goes_through_its_instance() {
    use firebreak::aws::interface_moves::move_interface;
    let groups = ["sg-0f1eb0000150a7100".to_string()];
    for refuse_instance in [false, true] {
        let stub = Arc::new(Stub { refuse_instance, seen: Mutex::new(Vec::new()) });
        let server = firebreak_tests::http::Server::start(stub.clone(), serve_moves).expect("stub");
        let config = firebreak_tests::moto::sdk_config_for(&format!("http://127.0.0.1:{}", server.port)).await;
        let ec2 = aws_sdk_ec2::Client::new(&config);
        move_interface(&ec2, "eni-0a1b2c3d4e5f60718", Some("i-0a1b2c3d4e5f60718"), &groups).await.expect("moved");
        let seen = stub.seen.lock().unwrap().clone();
        let actions: Vec<&str> = seen.iter().map(|p| p["Action"].as_str()).collect();
        // At most one throttled answer, not the SDK's eight attempts, before the instance's action
        // (first, when an earlier move found the ENI's bucket empty).
        let first = actions.iter().position(|a| *a == "ModifyInstanceAttribute").expect("through the instance");
        assert!(first <= 1, "{actions:?}");
        let by_instance = &seen[first];
        assert_eq!(by_instance.get("InstanceId").map(String::as_str), Some("i-0a1b2c3d4e5f60718"));
        assert_eq!(by_instance.get("GroupId.1"), Some(&groups[0]));
        assert!(!by_instance.contains_key("GroupId.2"), "exactly the isolation group");
        if refuse_instance {
            // Refused (a second ENI attached since): the ENI's own action, once it has a token.
            assert_eq!(actions.last(), Some(&"ModifyNetworkInterfaceAttribute"), "{actions:?}");
            assert_eq!(seen.last().unwrap().get("SecurityGroupId.1"), Some(&groups[0]));
            assert_eq!(actions.iter().filter(|a| **a == "ModifyInstanceAttribute").count(), 1, "{actions:?}");
        } else {
            assert_eq!(actions.last(), Some(&"ModifyInstanceAttribute"), "{actions:?}");
        }
    }
}
