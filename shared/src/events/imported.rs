//! Attack sequences and ECS findings as Security Hub imports them (ASFF and OCSF), rebuilt as the
//! native GuardDuty shapes the functions already read: a sequence's `resource` is only
//! `{"resourceType": "AttackSequence"}` and its resources go under
//! `service.detection.sequence.resources[]` (see [`super::sequence`]); an ECS finding names its
//! task under `resource.ecsClusterDetails.taskDetails` (see [`super::ecs`]). The imports list the
//! resources flat (`resources[].type` / `.uid` in OCSF, `Resources[].Type` / `.Id` in ASFF); each
//! type is mapped to the `ResourceV2` type GuardDuty gives it, and what has no mapping keeps its
//! import type, so that the sequence's reader reports it as not acted on rather than guessing.

use serde_json::{json, Value};

/// The attack-sequence type prefix: `AttackSequence:EC2/CompromisedInstanceGroup`, ...
pub const SEQUENCE_TYPE_PREFIX: &str = "AttackSequence:";

/// (OCSF type, ASFF type, GuardDuty `ResourceV2.resourceType`).
const RESOURCE_TYPES: [(&str, &str, &str); 9] = [
    ("AWS::EC2::Instance", "AwsEc2Instance", "EC2_INSTANCE"),
    ("AWS::IAM::AccessKey", "AwsIamAccessKey", "ACCESS_KEY"),
    ("AWS::IAM::InstanceProfile", "AwsIamInstanceProfile", "IAM_INSTANCE_PROFILE"),
    ("AWS::S3::Bucket", "AwsS3Bucket", "S3_BUCKET"),
    ("AWS::ECS::Task", "AwsEcsTask", "ECS_TASK"),
    ("AWS::ECS::Cluster", "AwsEcsCluster", "ECS_CLUSTER"),
    ("AWS::EKS::Cluster", "AwsEksCluster", "EKS_CLUSTER"),
    ("AWS::AutoScaling::AutoScalingGroup", "AwsAutoScalingAutoScalingGroup", "AUTOSCALING_AUTO_SCALING_GROUP"),
    ("AWS::Lambda::Function", "AwsLambdaFunction", "LAMBDA_FUNCTION"),
];

/// One resource as an import lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportedResource<'a> {
    /// The OCSF or ASFF type.
    pub kind: &'a str,
    pub uid: &'a str,
    pub region: Option<&'a str>,
}

pub fn is_sequence_type(finding_type: &str) -> bool {
    finding_type.starts_with(SEQUENCE_TYPE_PREFIX)
}

/// GuardDuty's `ResourceV2` type for an OCSF or ASFF resource type (the type itself when unknown).
pub fn native_type(kind: &str) -> &str {
    RESOURCE_TYPES.iter().find(|(ocsf, asff, _)| *ocsf == kind || *asff == kind).map_or(kind, |(_, _, native)| native)
}

/// The native `service` of an attack sequence: `featureName` `Correlation` and the sequence with
/// its resources and actors (each actor already in the native `Actor` shape).
pub fn sequence_service(sequence_uid: &str, resources: &[ImportedResource], actors: Vec<Value>) -> Value {
    let resources: Vec<Value> = resources
        .iter()
        .map(|resource| {
            let kind = native_type(resource.kind);
            json!({
                "uid": native_uid(kind, resource.uid),
                "resourceType": kind,
                "region": resource.region,
            })
        })
        .collect();
    json!({
        "featureName": "Correlation",
        "detection": {"sequence": {"uid": sequence_uid, "resources": resources, "actors": actors}},
    })
}

/// GuardDuty names an access key by its id; the imports write `AWS::IAM::AccessKey:<id>` or an
/// ARN-like path. Everything else keeps its uid (an id or an ARN, both read by the sequence code).
fn native_uid<'a>(native: &str, uid: &'a str) -> &'a str {
    match native {
        "ACCESS_KEY" => uid.rsplit([':', '/']).next().unwrap_or(uid),
        _ => uid,
    }
}

/// An ECS finding's native `resource` (`ECSCluster` with the task, as Runtime Monitoring gives it),
/// when the import names an ECS task.
pub fn ecs_resource(resources: &[ImportedResource]) -> Option<Value> {
    let of = |native: &str| resources.iter().find(|r| native_type(r.kind) == native).map(|r| r.uid);
    let task = of("ECS_TASK")?;
    Some(json!({
        "resourceType": "ECSCluster",
        "ecsClusterDetails": {"arn": of("ECS_CLUSTER"), "taskDetails": {"arn": task}},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_types_map_to_guardduty_resource_types_and_unknown_ones_stay() {
        assert_eq!(native_type("AWS::EC2::Instance"), "EC2_INSTANCE");
        assert_eq!(native_type("AwsEc2Instance"), "EC2_INSTANCE");
        assert_eq!(native_type("AWS::IAM::InstanceProfile"), "IAM_INSTANCE_PROFILE");
        assert_eq!(native_type("AWS::EC2::Volume"), "AWS::EC2::Volume");
    }

    #[test]
    fn a_sequence_keeps_every_resource_and_access_keys_become_their_ids() {
        let resources = [
            ImportedResource { kind: "AWS::EC2::Instance", uid: "i-0123456789abcdef0", region: Some("us-east-1") },
            ImportedResource {
                kind: "AWS::IAM::AccessKey",
                uid: "AWS::IAM::AccessKey:AKIAEXAMPLE123456",
                region: None,
            },
        ];
        let service = sequence_service("seq-1", &resources, Vec::new());
        let listed = &service["detection"]["sequence"]["resources"];
        assert_eq!(listed[0]["resourceType"], "EC2_INSTANCE");
        assert_eq!(listed[0]["region"], "us-east-1");
        assert_eq!(listed[1], json!({"uid": "AKIAEXAMPLE123456", "resourceType": "ACCESS_KEY", "region": null}));
        assert_eq!(service["featureName"], "Correlation");
    }

    #[test]
    fn an_ecs_resource_needs_a_task() {
        let cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/web";
        let task = "arn:aws:ecs:us-east-1:111122223333:task/web/0123456789abcdef0123456789abcdef";
        let only_cluster = [ImportedResource { kind: "AWS::ECS::Cluster", uid: cluster, region: None }];
        assert_eq!(ecs_resource(&only_cluster), None);
        let both = [only_cluster[0], ImportedResource { kind: "AWS::ECS::Task", uid: task, region: None }];
        let resource = ecs_resource(&both).expect("a task");
        assert_eq!(resource["ecsClusterDetails"]["taskDetails"]["arn"], task);
        assert_eq!(resource["ecsClusterDetails"]["arn"], cluster);
    }
}
