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

/// The instance's surroundings, taken from the event so the event and the answers agree.
#[derive(Debug, Clone)]
pub struct World {
    pub instance_id: String,
    pub vpc_id: String,
    /// ENI id and its security groups.
    pub interfaces: Vec<(String, Vec<String>)>,
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
        Self { instance_id, vpc_id, interfaces }
    }

    /// The whole HTTP answer to one request.
    pub fn answer(&self, operation: &str, params: &BTreeMap<String, String>) -> Vec<u8> {
        let instance_id = self.instance_id.as_str();
        let version = params.get("Version").map(String::as_str).unwrap_or_default();
        match version {
            "2011-01-01" => self.autoscaling(operation, instance_id),
            "2015-12-01" => self.elbv2(operation),
            "2011-06-15" => self.sts(operation),
            _ => self.ec2(operation, params, instance_id),
        }
    }

    fn ec2(&self, operation: &str, params: &BTreeMap<String, String>, instance_id: &str) -> Vec<u8> {
        let body = match operation {
            "DescribeInstances" => {
                let devices: String = VOLUMES
                    .iter()
                    .enumerate()
                    .map(|(n, v)| {
                        format!("<item><deviceName>/dev/xvd{}</deviceName><ebs><volumeId>{v}</volumeId><status>attached</status><deleteOnTermination>true</deleteOnTermination></ebs></item>", (b'a' + n as u8) as char)
                    })
                    .collect();
                format!(
                    "<reservationSet><item><reservationId>r-0123456789abcdef0</reservationId><ownerId>{ACCOUNT_ID}</ownerId><instancesSet><item><instanceId>{instance_id}</instanceId><imageId>ami-12c6146b</imageId><instanceState><code>16</code><name>running</name></instanceState><instanceType>t3.medium</instanceType><vpcId>{}</vpcId><blockDeviceMapping>{devices}</blockDeviceMapping><tagSet><item><key>Name</key><value>web-1</value></item></tagSet></item></instancesSet></item></reservationSet>",
                    self.vpc_id
                )
            }
            // The read-back after isolation names the ENI: it is in the isolation group by then.
            "DescribeNetworkInterfaces" if params.contains_key("NetworkInterfaceId.1") => {
                let eni = &params["NetworkInterfaceId.1"];
                format!("<networkInterfaceSet><item><networkInterfaceId>{eni}</networkInterfaceId><vpcId>{}</vpcId><status>in-use</status><groupSet><item><groupId>{ISOLATION_GROUP_ID}</groupId><groupName>firebreak-isolation</groupName></item></groupSet><tagSet/></item></networkInterfaceSet>", self.vpc_id)
            }
            "DescribeNetworkInterfaces" => {
                let items: String = self
                    .interfaces
                    .iter()
                    .enumerate()
                    .map(|(n, (eni, groups))| {
                        let groups: String = groups
                            .iter()
                            .map(|g| format!("<item><groupId>{g}</groupId><groupName>{g}</groupName></item>"))
                            .collect();
                        format!("<item><networkInterfaceId>{eni}</networkInterfaceId><vpcId>{}</vpcId><status>in-use</status><attachment><instanceId>{instance_id}</instanceId><deviceIndex>{n}</deviceIndex><status>attached</status></attachment><groupSet>{groups}</groupSet><tagSet/></item>", self.vpc_id)
                    })
                    .collect();
                format!("<networkInterfaceSet>{items}</networkInterfaceSet>")
            }
            "DescribeInstanceAttribute" => match params.get("Attribute").map(String::as_str) {
                Some("instanceInitiatedShutdownBehavior") => format!("<instanceId>{instance_id}</instanceId><instanceInitiatedShutdownBehavior><value>terminate</value></instanceInitiatedShutdownBehavior>"),
                _ => format!("<instanceId>{instance_id}</instanceId><disableApiTermination><value>false</value></disableApiTermination>"),
            },
            "DescribeIamInstanceProfileAssociations" => format!(
                "<iamInstanceProfileAssociationSet><item><associationId>iip-assoc-0123456789abcdef0</associationId><instanceId>{instance_id}</instanceId><iamInstanceProfile><arn>{PROFILE_ARN}</arn><id>AIPAQ3EGSYGZJ5EXAMPLE</id></iamInstanceProfile><state>associated</state></item></iamInstanceProfileAssociationSet>"
            ),
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
            "CreateTags" | "ModifyNetworkInterfaceAttribute" | "ModifyInstanceAttribute" => "<return>true</return>".into(),
            "CreateSnapshots" => {
                let items: String = VOLUMES
                    .iter()
                    .enumerate()
                    .map(|(n, v)| format!("<item><snapshotId>snap-0{n}1234567890abcd</snapshotId><volumeId>{v}</volumeId><state>pending</state><startTime>2026-11-24T02:13:50.000Z</startTime><ownerId>{ACCOUNT_ID}</ownerId></item>"))
                    .collect();
                format!("<snapshotSet>{items}</snapshotSet>")
            }
            "DisassociateIamInstanceProfile" => format!(
                "<iamInstanceProfileAssociation><associationId>iip-assoc-0123456789abcdef0</associationId><instanceId>{instance_id}</instanceId><iamInstanceProfile><arn>{PROFILE_ARN}</arn><id>AIPAQ3EGSYGZJ5EXAMPLE</id></iamInstanceProfile><state>disassociating</state></iamInstanceProfileAssociation>"
            ),
            other => {
                let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>NotCannedInBench</Code><Message>the instant endpoint has no answer for {other}</Message></Error></Errors><RequestID>bench</RequestID></Response>");
                return response(400, "text/xml", &[], &body);
            }
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{operation}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>bench-0000</requestId>{body}</{operation}Response>"
        );
        response(200, "text/xml;charset=UTF-8", &[], &xml)
    }

    fn autoscaling(&self, operation: &str, instance_id: &str) -> Vec<u8> {
        let result = match operation {
            "DescribeAutoScalingInstances" => format!(
                "<AutoScalingInstances><member><InstanceId>{instance_id}</InstanceId><AutoScalingGroupName>{AUTOSCALING_GROUP}</AutoScalingGroupName><AvailabilityZone>us-east-1a</AvailabilityZone><LifecycleState>InService</LifecycleState><HealthStatus>HEALTHY</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn><InstanceType>t3.medium</InstanceType></member></AutoScalingInstances>"
            ),
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
            "DescribeTargetHealth" => format!(
                "<TargetHealthDescriptions><member><Target><Id>{}</Id><Port>80</Port></Target><TargetHealth><State>healthy</State></TargetHealth></member></TargetHealthDescriptions>",
                self.instance_id
            ),
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

fn query_error(operation: &str) -> Vec<u8> {
    let xml = format!("<ErrorResponse><Error><Type>Sender</Type><Code>NotCannedInBench</Code><Message>the instant endpoint has no answer for {operation}</Message></Error><RequestId>bench</RequestId></ErrorResponse>");
    response(400, "text/xml", &[], &xml)
}
