//! Canned AWS answers for exactly the calls a quarantine makes (EC2, Auto Scaling, ELBv2), for
//! the instance a GuardDuty event names: the instant endpoint. It keeps no state, so every
//! invocation finds the same compromised instance, in its Auto Scaling group, behind a target
//! group, with an instance profile, and Firebreak's two groups already in its VPC.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::http::response;

pub const ISOLATION_GROUP_ID: &str = "sg-0f1eb0000150a7100";
pub const UNTRACKING_GROUP_ID: &str = "sg-0f1eb0000c7ac4100";
const ACCOUNT_ID: &str = "123456789012";
const AUTOSCALING_GROUP: &str = "web-asg";
const TARGET_GROUP_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";
const PROFILE_ARN: &str = "arn:aws:iam::123456789012:instance-profile/web-app";
const VOLUMES: [&str; 2] = ["vol-0a1a2a3a4a5a6a7a8", "vol-0b1b2b3b4b5b6b7b8"];
const FLEET_VPC: &str = "vpc-0f1ee700000000001";
/// The web servers' groups: SSH open to the world, and the backend's.
const SHARED_GROUPS: [&str; 2] = ["sg-05510000000000001", "sg-0bac00000000000e1"];
const ASSOCIATION_PREFIX: &str = "iip-assoc-";

/// An instance's profile association, its id derived from the instance id.
fn association(instance_id: &str, state: &str) -> String {
    format!(
        "<associationId>{}</associationId><instanceId>{instance_id}</instanceId><iamInstanceProfile><arn>{PROFILE_ARN}</arn><id>AIPAQ3EGSYGZJ5EXAMPLE</id></iamInstanceProfile><state>{state}</state>",
        instance_id.replacen("i-", ASSOCIATION_PREFIX, 1)
    )
}

/// One instance of the canned world.
#[derive(Debug, Clone)]
pub struct Machine {
    pub instance_id: String,
    /// ENI id and its security groups.
    pub interfaces: Vec<(String, Vec<String>)>,
    pub volumes: Vec<String>,
}

/// The instances' surroundings: taken from the event (one instance) so the event and the answers
/// agree, or a fleet of many for the burst ([`World::fleet`]), all in one VPC, in one Auto
/// Scaling group, behind one target group, with one instance profile.
#[derive(Debug, Clone)]
pub struct World {
    pub vpc_id: String,
    pub machines: Vec<Machine>,
}

impl World {
    pub fn from_event(event: &Value) -> Self {
        let details = &event["detail"]["resource"]["instanceDetails"];
        let interfaces: Vec<(String, Vec<String>)> = details["networkInterfaces"]
            .as_array()
            .map(|enis| {
                enis.iter()
                    .map(|eni| {
                        let groups = eni["securityGroups"]
                            .as_array()
                            .map(|gs| gs.iter().filter_map(|g| g["groupId"].as_str().map(str::to_string)).collect())
                            .unwrap_or_default();
                        (eni["networkInterfaceId"].as_str().unwrap_or("eni-0").to_string(), groups)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let vpc_id = details["networkInterfaces"][0]["vpcId"].as_str().unwrap_or("vpc-0").to_string();
        let instance_id = details["instanceId"].as_str().unwrap_or("i-0").to_string();
        let volumes = VOLUMES.iter().map(|v| v.to_string()).collect();
        Self { vpc_id, machines: vec![Machine { instance_id, interfaces, volumes }] }
    }

    /// `count` web servers of one Auto Scaling group: every other one has a second ENI, each has
    /// two volumes, and all share the same two security groups (the worm's way in).
    pub fn fleet(count: usize) -> Self {
        let machines = (0..count)
            .map(|n| {
                let groups = vec![SHARED_GROUPS[0].to_string(), SHARED_GROUPS[1].to_string()];
                let mut interfaces = vec![(format!("eni-0{n:016x}"), groups.clone())];
                if n % 2 == 1 {
                    interfaces.push((format!("eni-1{n:016x}"), vec![SHARED_GROUPS[1].to_string()]));
                }
                Machine {
                    instance_id: format!("i-0{n:016x}"),
                    interfaces,
                    volumes: vec![format!("vol-0{n:016x}"), format!("vol-1{n:016x}")],
                }
            })
            .collect();
        Self { vpc_id: FLEET_VPC.into(), machines }
    }

    /// Every ENI of every instance.
    pub fn interfaces(&self) -> impl Iterator<Item = &(String, Vec<String>)> {
        self.machines.iter().flat_map(|m| m.interfaces.iter())
    }

    /// The instances a request names (by id, `InstanceIds.member.N`, or an `instance-id` /
    /// `attachment.instance-id` filter), or all of them when it names none.
    fn named(&self, params: &BTreeMap<String, String>) -> Vec<&Machine> {
        let mut ids: Vec<String> = params
            .iter()
            .filter(|(k, _)| k.starts_with("InstanceId") || k.starts_with("InstanceSpecification.InstanceId"))
            .map(|(_, v)| v.clone())
            .collect();
        ids.extend(filter_values(params, "instance-id"));
        ids.extend(filter_values(params, "attachment.instance-id"));
        if let Some(association) = params.get("AssociationId") {
            ids.push(association.replacen(ASSOCIATION_PREFIX, "i-", 1));
        }
        if ids.is_empty() {
            return self.machines.iter().collect();
        }
        self.machines.iter().filter(|m| ids.contains(&m.instance_id)).collect()
    }

    /// The whole HTTP answer to one request.
    pub fn answer(&self, operation: &str, params: &BTreeMap<String, String>) -> Vec<u8> {
        let version = params.get("Version").map(String::as_str).unwrap_or_default();
        match version {
            "2011-01-01" => self.autoscaling(operation, params),
            "2015-12-01" => self.elbv2(operation),
            "2011-06-15" => self.sts(operation),
            _ => self.ec2(operation, params),
        }
    }

    fn ec2(&self, operation: &str, params: &BTreeMap<String, String>) -> Vec<u8> {
        let named = self.named(params);
        let body = match operation {
            "DescribeInstances" => {
                let items: String = named
                    .iter()
                    .map(|m| {
                        let devices: String = m
                            .volumes
                            .iter()
                            .enumerate()
                            .map(|(n, v)| {
                                format!("<item><deviceName>/dev/xvd{}</deviceName><ebs><volumeId>{v}</volumeId><status>attached</status><deleteOnTermination>true</deleteOnTermination></ebs></item>", (b'a' + n as u8) as char)
                            })
                            .collect();
                        format!(
                            "<item><instanceId>{}</instanceId><imageId>ami-12c6146b</imageId><instanceState><code>16</code><name>running</name></instanceState><instanceType>t3.medium</instanceType><vpcId>{}</vpcId><blockDeviceMapping>{devices}</blockDeviceMapping><tagSet><item><key>Name</key><value>web-1</value></item></tagSet></item>",
                            m.instance_id, self.vpc_id
                        )
                    })
                    .collect();
                format!(
                    "<reservationSet><item><reservationId>r-0123456789abcdef0</reservationId><ownerId>{ACCOUNT_ID}</ownerId><instancesSet>{items}</instancesSet></item></reservationSet>"
                )
            }
            // The read-back after isolation names the ENIs: they are in the isolation group by then.
            "DescribeNetworkInterfaces"
                if params.contains_key("NetworkInterfaceId.1")
                    || !filter_values(params, "network-interface-id").is_empty() =>
            {
                let mut enis: Vec<String> = params
                    .iter()
                    .filter(|(k, _)| k.starts_with("NetworkInterfaceId."))
                    .map(|(_, v)| v.clone())
                    .collect();
                enis.extend(filter_values(params, "network-interface-id"));
                let items: String = enis
                    .iter()
                    .map(|eni| format!("<item><networkInterfaceId>{eni}</networkInterfaceId><vpcId>{}</vpcId><status>in-use</status><groupSet><item><groupId>{ISOLATION_GROUP_ID}</groupId><groupName>firebreak-isolation</groupName></item></groupSet><tagSet/></item>", self.vpc_id))
                    .collect();
                format!("<networkInterfaceSet>{items}</networkInterfaceSet>")
            }
            "DescribeNetworkInterfaces" => {
                let items: String = named
                    .iter()
                    .flat_map(|m| m.interfaces.iter().enumerate().map(move |(n, eni)| (m, n, eni)))
                    .map(|(m, n, (eni, groups))| {
                        let groups: String = groups
                            .iter()
                            .map(|g| format!("<item><groupId>{g}</groupId><groupName>{g}</groupName></item>"))
                            .collect();
                        format!("<item><networkInterfaceId>{eni}</networkInterfaceId><vpcId>{}</vpcId><status>in-use</status><attachment><instanceId>{}</instanceId><deviceIndex>{n}</deviceIndex><status>attached</status></attachment><groupSet>{groups}</groupSet><tagSet/></item>", self.vpc_id, m.instance_id)
                    })
                    .collect();
                format!("<networkInterfaceSet>{items}</networkInterfaceSet>")
            }
            "DescribeInstanceAttribute" => {
                let instance_id = named.first().map(|m| m.instance_id.as_str()).unwrap_or("i-0");
                match params.get("Attribute").map(String::as_str) {
                    Some("instanceInitiatedShutdownBehavior") => format!("<instanceId>{instance_id}</instanceId><instanceInitiatedShutdownBehavior><value>terminate</value></instanceInitiatedShutdownBehavior>"),
                    _ => format!("<instanceId>{instance_id}</instanceId><disableApiTermination><value>false</value></disableApiTermination>"),
                }
            }
            "DescribeIamInstanceProfileAssociations" => {
                let items: String = named
                    .iter()
                    .map(|m| format!("<item>{}</item>", association(&m.instance_id, "associated")))
                    .collect();
                format!("<iamInstanceProfileAssociationSet>{items}</iamInstanceProfileAssociationSet>")
            }
            "DescribeSnapshots" => "<snapshotSet/>".into(),
            "DescribeSecurityGroups" => {
                let names = filter_values(params, "group-name");
                let all_traffic = "<item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6></item></ipv6Ranges><prefixListIds/></item>";
                let groups = [
                    (ISOLATION_GROUP_ID, "firebreak-isolation".to_string(), ""),
                    (UNTRACKING_GROUP_ID, "firebreak-isolation-untracking".to_string(), all_traffic),
                ];
                let items: String = groups
                    .iter()
                    .filter(|(_, name, _)| names.is_empty() || names.contains(name))
                    .map(|(id, name, rules)| {
                        format!("<item><ownerId>{ACCOUNT_ID}</ownerId><groupId>{id}</groupId><groupName>{name}</groupName><groupDescription>Firebreak</groupDescription><vpcId>{}</vpcId><ipPermissions>{rules}</ipPermissions><ipPermissionsEgress>{rules}</ipPermissionsEgress><tagSet/></item>", self.vpc_id)
                    })
                    .collect();
                format!("<securityGroupInfo>{items}</securityGroupInfo>")
            }
            // EC2 replaces an instance's groups only when it has a single network interface.
            "ModifyInstanceAttribute"
                if params.contains_key("GroupId.1") && named.first().is_some_and(|m| m.interfaces.len() > 1) =>
            {
                let message = format!("There are multiple interfaces attached to instance '{}'. Please specify an interface ID for the operation instead.", named[0].instance_id);
                return ec2_error("InvalidInstanceID", &message);
            }
            "CreateTags" | "ModifyNetworkInterfaceAttribute" | "ModifyInstanceAttribute" => {
                "<return>true</return>".into()
            }
            "CreateSnapshots" => {
                let items: String = named
                    .iter()
                    .flat_map(|m| m.volumes.iter())
                    .enumerate()
                    .map(|(n, v)| format!("<item><snapshotId>snap-0{n}1234567890abcd</snapshotId><volumeId>{v}</volumeId><state>pending</state><startTime>2026-11-24T02:13:50.000Z</startTime><ownerId>{ACCOUNT_ID}</ownerId></item>"))
                    .collect();
                format!("<snapshotSet>{items}</snapshotSet>")
            }
            "DisassociateIamInstanceProfile" => {
                let instance_id = named.first().map(|m| m.instance_id.as_str()).unwrap_or("i-0");
                format!(
                    "<iamInstanceProfileAssociation>{}</iamInstanceProfileAssociation>",
                    association(instance_id, "disassociating")
                )
            }
            other => return ec2_error("NotCannedInBench", &format!("the instant endpoint has no answer for {other}")),
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{operation}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>bench-0000</requestId>{body}</{operation}Response>"
        );
        response(200, "text/xml;charset=UTF-8", &[], &xml)
    }

    fn autoscaling(&self, operation: &str, params: &BTreeMap<String, String>) -> Vec<u8> {
        let result = match operation {
            "DescribeAutoScalingInstances" => {
                let members: String = self.named(params).iter().map(|m| format!(
                    "<member><InstanceId>{}</InstanceId><AutoScalingGroupName>{AUTOSCALING_GROUP}</AutoScalingGroupName><AvailabilityZone>us-east-1a</AvailabilityZone><LifecycleState>InService</LifecycleState><HealthStatus>HEALTHY</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn><InstanceType>t3.medium</InstanceType></member>", m.instance_id
                )).collect();
                format!("<AutoScalingInstances>{members}</AutoScalingInstances>")
            }
            "DetachInstances" => "<Activities/>".into(),
            other => return query_error(other),
        };
        query_response(operation, "http://autoscaling.amazonaws.com/doc/2011-01-01/", &result)
    }

    /// The function asks once per cold start which account it runs in.
    fn sts(&self, operation: &str) -> Vec<u8> {
        let result = match operation {
            "GetCallerIdentity" => "<Arn>arn:aws:sts::123456789012:assumed-role/firebreak/quarantine-instance</Arn><UserId>AROABENCH:quarantine-instance</UserId><Account>123456789012</Account>".to_string(),
            other => return query_error(other),
        };
        query_response(operation, "https://sts.amazonaws.com/doc/2011-06-15/", &result)
    }

    fn elbv2(&self, operation: &str) -> Vec<u8> {
        let result = match operation {
            "DescribeTargetGroups" => format!(
                "<TargetGroups><member><TargetGroupArn>{TARGET_GROUP_ARN}</TargetGroupArn><TargetGroupName>web</TargetGroupName><Protocol>HTTP</Protocol><Port>80</Port><VpcId>{}</VpcId><TargetType>instance</TargetType></member></TargetGroups>",
                self.vpc_id
            ),
            "DescribeTargetHealth" => {
                let members: String = self.machines.iter().map(|m| format!(
                    "<member><Target><Id>{}</Id><Port>80</Port></Target><TargetHealth><State>healthy</State></TargetHealth></member>", m.instance_id
                )).collect();
                format!("<TargetHealthDescriptions>{members}</TargetHealthDescriptions>")
            }
            "DeregisterTargets" => String::new(),
            other => return query_error(other),
        };
        query_response(operation, "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/", &result)
    }
}

/// The values of `Filter.N.Name=name` in an EC2 query.
fn filter_values(params: &BTreeMap<String, String>, name: &str) -> Vec<String> {
    params
        .iter()
        .filter(|(k, v)| k.starts_with("Filter.") && k.ends_with(".Name") && v.as_str() == name)
        .flat_map(|(k, _)| {
            let prefix = format!("{}.Value.", k.trim_end_matches(".Name"));
            params.iter().filter(move |(k, _)| k.starts_with(&prefix)).map(|(_, v)| v.clone())
        })
        .collect()
}

fn query_response(operation: &str, namespace: &str, result: &str) -> Vec<u8> {
    let xml = format!(
        "<{operation}Response xmlns=\"{namespace}\"><{operation}Result>{result}</{operation}Result><ResponseMetadata><RequestId>bench-0000</RequestId></ResponseMetadata></{operation}Response>"
    );
    response(200, "text/xml", &[], &xml)
}

fn ec2_error(code: &str, message: &str) -> Vec<u8> {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>bench</RequestID></Response>");
    response(400, "text/xml", &[], &body)
}

fn query_error(operation: &str) -> Vec<u8> {
    let xml = format!("<ErrorResponse><Error><Type>Sender</Type><Code>NotCannedInBench</Code><Message>the instant endpoint has no answer for {operation}</Message></Error><RequestId>bench</RequestId></ErrorResponse>");
    response(400, "text/xml", &[], &xml)
}
