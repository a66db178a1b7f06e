//! Builds, inside the emulator, the instance of the incident Firebreak exists for: SSH open to
//! 0.0.0.0/0, two volumes, two network interfaces, in an Auto Scaling group, behind a target
//! group, with an instance profile.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, IamInstanceProfileSpecification, InstanceAttributeName,
    InstanceNetworkInterfaceSpecification, InstanceStateName, IpPermission, IpRange, RequestLaunchTemplateData,
    ResourceType, Tag, TagSpecification,
};
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetDescription, TargetTypeEnum};
use serde_json::{json, Value};

use crate::moto::{Moto, ACCOUNT_ID};

/// Clients for building and inspecting emulator state.
pub struct Scenario {
    pub ec2: aws_sdk_ec2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub iam: aws_sdk_iam::Client,
    pub clients: firebreak::Clients,
}

/// What to put around the instance.
#[derive(Debug, Clone)]
pub struct Setup {
    pub second_interface: bool,
    pub autoscaling_group: bool,
    pub target_group: bool,
    pub instance_profile: bool,
    pub tags: Vec<(String, String)>,
}

impl Default for Setup {
    /// The full incident: every attachment present.
    fn default() -> Self {
        Self {
            second_interface: true,
            autoscaling_group: true,
            target_group: true,
            instance_profile: true,
            tags: vec![],
        }
    }
}

impl Setup {
    pub fn bare() -> Self {
        Self {
            second_interface: false,
            autoscaling_group: false,
            target_group: false,
            instance_profile: false,
            tags: vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub struct CompromisedInstance {
    pub instance_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub ssh_open_group_id: String,
    pub backend_group_id: String,
    /// ENI id and its groups before the incident, primary first.
    pub interfaces: Vec<(String, Vec<String>)>,
    pub volume_ids: Vec<String>,
    pub autoscaling_group: Option<String>,
    pub target_group_arn: Option<String>,
    pub instance_profile_arn: Option<String>,
}

/// The state of one instance, read back for assertions and for the demo's before/after.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceView {
    pub state: String,
    pub interface_groups: BTreeMap<String, Vec<String>>,
    pub interface_tags: BTreeMap<String, BTreeMap<String, String>>,
    pub tags: BTreeMap<String, String>,
    pub termination_protected: bool,
    pub shutdown_behavior: String,
    pub autoscaling_group: Option<String>,
    pub in_target_group: bool,
    pub instance_profile: Option<String>,
    pub snapshots: Vec<(String, BTreeMap<String, String>)>,
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect()
}

impl Scenario {
    pub async fn new(moto: &Moto) -> Self {
        Self::in_config(&moto.sdk_config().await)
    }

    /// A scenario in whatever account and region the config acts in (see [`crate::member`]).
    pub fn in_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            clients: firebreak::Clients::new(config),
        }
    }

    async fn image_id(&self) -> String {
        let images = self.ec2.describe_images().owners("amazon").send().await.expect("DescribeImages");
        images.images().iter().find_map(|i| i.image_id().map(str::to_string)).expect("moto ships AMIs")
    }

    pub async fn compromised_instance(&self, setup: &Setup) -> CompromisedInstance {
        let ec2 = &self.ec2;
        let vpc_id = ec2
            .create_vpc()
            .cidr_block("10.20.0.0/16")
            .send()
            .await
            .expect("CreateVpc")
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_string();
        let subnet_id = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block("10.20.1.0/24")
            .availability_zone(format!("{}a", self.ec2.config().region().map_or("us-east-1", |r| r.as_ref())))
            .send()
            .await
            .expect("CreateSubnet")
            .subnet()
            .unwrap()
            .subnet_id()
            .unwrap()
            .to_string();
        let group = |name: &'static str| {
            let vpc_id = vpc_id.clone();
            async move {
                ec2.create_security_group()
                    .group_name(name)
                    .description(name)
                    .vpc_id(vpc_id)
                    .send()
                    .await
                    .expect("CreateSecurityGroup")
                    .group_id()
                    .unwrap()
                    .to_string()
            }
        };
        let ssh_open_group_id = group("web-ssh-open").await;
        let backend_group_id = group("web-backend").await;
        ec2.authorize_security_group_ingress()
            .group_id(&ssh_open_group_id)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .expect("AuthorizeSecurityGroupIngress");

        let image_id = self.image_id().await;
        let mut tags = vec![Tag::builder().key("Name").value("web-1").build()];
        tags.extend(setup.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()));
        let reservation = ec2
            .run_instances()
            .image_id(&image_id)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Medium)
            .min_count(1)
            .max_count(1)
            // The groups go on the primary ENI, not on the instance: moto adds an instance's
            // launch groups to every ENI it lists until a ModifyInstanceAttribute clears them,
            // which real EC2 does not do (an instance's groups are its primary ENI's).
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&subnet_id)
                    .groups(&ssh_open_group_id)
                    .build(),
            )
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(EbsBlockDevice::builder().volume_size(8).build())
                    .build(),
            )
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/xvdf")
                    .ebs(EbsBlockDevice::builder().volume_size(20).build())
                    .build(),
            )
            .tag_specifications(
                TagSpecification::builder().resource_type(ResourceType::Instance).set_tags(Some(tags)).build(),
            )
            .send()
            .await
            .expect("RunInstances");
        let instance_id = reservation.instances()[0].instance_id().unwrap().to_string();

        if setup.second_interface {
            let eni = ec2
                .create_network_interface()
                .subnet_id(&subnet_id)
                .groups(&backend_group_id)
                .send()
                .await
                .expect("CreateNetworkInterface");
            let eni_id = eni.network_interface().unwrap().network_interface_id().unwrap().to_string();
            ec2.attach_network_interface()
                .network_interface_id(&eni_id)
                .instance_id(&instance_id)
                .device_index(1)
                .send()
                .await
                .expect("AttachNetworkInterface");
        }

        let mut instance_profile_arn = None;
        if setup.instance_profile {
            let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
            self.iam
                .create_role()
                .role_name("web-app")
                .assume_role_policy_document(trust.to_string())
                .send()
                .await
                .expect("CreateRole");
            let profile = self
                .iam
                .create_instance_profile()
                .instance_profile_name("web-app")
                .send()
                .await
                .expect("CreateInstanceProfile");
            self.iam
                .add_role_to_instance_profile()
                .instance_profile_name("web-app")
                .role_name("web-app")
                .send()
                .await
                .expect("AddRoleToInstanceProfile");
            ec2.associate_iam_instance_profile()
                .instance_id(&instance_id)
                .iam_instance_profile(IamInstanceProfileSpecification::builder().name("web-app").build())
                .send()
                .await
                .expect("AssociateIamInstanceProfile");
            instance_profile_arn = profile.instance_profile().map(|p| p.arn().to_string());
        }

        let mut autoscaling_group = None;
        if setup.autoscaling_group {
            ec2.create_launch_template()
                .launch_template_name("web")
                .launch_template_data(
                    RequestLaunchTemplateData::builder()
                        .image_id(&image_id)
                        .instance_type(aws_sdk_ec2::types::InstanceType::T3Medium)
                        .build(),
                )
                .send()
                .await
                .expect("CreateLaunchTemplate");
            self.autoscaling
                .create_auto_scaling_group()
                .auto_scaling_group_name("web-asg")
                .launch_template(
                    aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                        .launch_template_name("web")
                        .build(),
                )
                .min_size(0)
                .max_size(3)
                .desired_capacity(0)
                .vpc_zone_identifier(&subnet_id)
                .send()
                .await
                .expect("CreateAutoScalingGroup");
            self.autoscaling
                .attach_instances()
                .auto_scaling_group_name("web-asg")
                .instance_ids(&instance_id)
                .send()
                .await
                .expect("AttachInstances");
            autoscaling_group = Some("web-asg".to_string());
        }

        let mut target_group_arn = None;
        if setup.target_group {
            let created = self
                .elbv2
                .create_target_group()
                .name("web-tg")
                .protocol(ProtocolEnum::Http)
                .port(80)
                .vpc_id(&vpc_id)
                .target_type(TargetTypeEnum::Instance)
                .send()
                .await
                .expect("CreateTargetGroup");
            let arn = created.target_groups()[0].target_group_arn().unwrap().to_string();
            self.elbv2
                .register_targets()
                .target_group_arn(&arn)
                .targets(TargetDescription::builder().id(&instance_id).port(80).build())
                .send()
                .await
                .expect("RegisterTargets");
            target_group_arn = Some(arn);
        }

        let view = self.view(&instance_id, target_group_arn.as_deref()).await;
        CompromisedInstance {
            interfaces: view.interface_groups.into_iter().collect(),
            volume_ids: self.volume_ids(&instance_id).await,
            instance_id,
            vpc_id,
            subnet_id,
            ssh_open_group_id,
            backend_group_id,
            autoscaling_group,
            target_group_arn,
            instance_profile_arn,
        }
    }

    async fn volume_ids(&self, instance_id: &str) -> Vec<String> {
        let described =
            self.ec2.describe_instances().instance_ids(instance_id).send().await.expect("DescribeInstances");
        described.reservations()[0].instances()[0]
            .block_device_mappings()
            .iter()
            .filter_map(|m| m.ebs()?.volume_id().map(str::to_string))
            .collect()
    }

    /// A GuardDuty finding event from `events/`, pointed at this instance (id, VPC, ENIs).
    pub fn guardduty_event(&self, template: &str, instance: &CompromisedInstance) -> Value {
        let mut event = crate::sample_event(template);
        let details = &mut event["detail"]["resource"]["instanceDetails"];
        details["instanceId"] = json!(instance.instance_id);
        details["networkInterfaces"] = Value::Array(
            instance
                .interfaces
                .iter()
                .map(|(eni_id, groups)| {
                    json!({
                        "networkInterfaceId": eni_id,
                        "vpcId": instance.vpc_id,
                        "subnetId": instance.subnet_id,
                        "securityGroups": groups.iter().map(|g| json!({"groupId": g, "groupName": g})).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        );
        event["account"] = json!(ACCOUNT_ID);
        event["detail"]["accountId"] = json!(ACCOUNT_ID);
        event
    }

    pub async fn terminate(&self, instance_id: &str) {
        self.ec2.terminate_instances().instance_ids(instance_id).send().await.expect("TerminateInstances");
    }

    /// Everything a responder would check about the instance, read straight from the emulator.
    pub async fn view(&self, instance_id: &str, target_group_arn: Option<&str>) -> InstanceView {
        let ec2 = &self.ec2;
        let described = ec2.describe_instances().instance_ids(instance_id).send().await.expect("DescribeInstances");
        let instance = &described.reservations()[0].instances()[0];
        let enis = ec2
            .describe_network_interfaces()
            .filters(Filter::builder().name("attachment.instance-id").values(instance_id).build())
            .send()
            .await
            .expect("DescribeNetworkInterfaces");
        let mut interface_groups = BTreeMap::new();
        let mut interface_tags = BTreeMap::new();
        for eni in enis.network_interfaces() {
            let id = eni.network_interface_id().unwrap().to_string();
            let mut groups: Vec<String> = eni.groups().iter().map(|g| g.group_id().unwrap().to_string()).collect();
            groups.sort();
            interface_groups.insert(id.clone(), groups);
            interface_tags.insert(id, tag_map(eni.tag_set()));
        }
        let protection = ec2
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::DisableApiTermination)
            .send()
            .await
            .expect("DescribeInstanceAttribute");
        let shutdown = ec2
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .send()
            .await
            .expect("DescribeInstanceAttribute");
        let asg = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .expect("DescribeAutoScalingInstances");
        let in_target_group = match target_group_arn {
            Some(arn) => self
                .elbv2
                .describe_target_health()
                .target_group_arn(arn)
                .send()
                .await
                .expect("DescribeTargetHealth")
                .target_health_descriptions()
                .iter()
                .any(|d| d.target().and_then(|t| t.id()) == Some(instance_id)),
            None => false,
        };
        let profile = ec2
            .describe_iam_instance_profile_associations()
            .filters(Filter::builder().name("instance-id").values(instance_id).build())
            .send()
            .await
            .expect("DescribeIamInstanceProfileAssociations");
        let snapshots = ec2
            .describe_snapshots()
            .owner_ids("self")
            .send()
            .await
            .expect("DescribeSnapshots")
            .snapshots()
            .iter()
            .map(|s| (s.snapshot_id().unwrap().to_string(), tag_map(s.tags())))
            .filter(|(_, tags)| tags.get("firebreak:instance-id").map(String::as_str) == Some(instance_id))
            .collect();
        InstanceView {
            state: instance.state().and_then(|s| s.name()).unwrap_or(&InstanceStateName::Pending).as_str().to_string(),
            interface_groups,
            interface_tags,
            tags: tag_map(instance.tags()),
            termination_protected: protection.disable_api_termination().and_then(|v| v.value()).unwrap_or(false),
            shutdown_behavior: shutdown
                .instance_initiated_shutdown_behavior()
                .and_then(|v| v.value())
                .unwrap_or("")
                .to_string(),
            autoscaling_group: asg
                .auto_scaling_instances()
                .first()
                .and_then(|i| i.auto_scaling_group_name().map(str::to_string)),
            in_target_group,
            instance_profile: profile
                .iam_instance_profile_associations()
                .iter()
                .filter(|a| a.state().map(|s| s.as_str()) == Some("associated"))
                .find_map(|a| a.iam_instance_profile()?.arn().map(str::to_string)),
            snapshots,
        }
    }

    /// The security groups of a VPC by name, with their rule counts (ingress, egress).
    pub async fn groups_named(
        &self,
        vpc_id: &str,
        name: &str,
    ) -> Vec<(String, usize, usize, BTreeMap<String, String>)> {
        self.ec2
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
            .filters(Filter::builder().name("group-name").values(name).build())
            .send()
            .await
            .expect("DescribeSecurityGroups")
            .security_groups()
            .iter()
            .map(|g| {
                (
                    g.group_id().unwrap().to_string(),
                    g.ip_permissions().len(),
                    g.ip_permissions_egress().len(),
                    tag_map(g.tags()),
                )
            })
            .collect()
    }
}
