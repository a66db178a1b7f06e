"""BASELINE, for comparison only: the same quarantine as quarantine-instance, written the
straightforward way a typical Python Lambda does it (boto3, one call after the other).

It is not part of Firebreak. The bench (bench/run.sh) runs it as a process behind the same local
Lambda Runtime API and against the same endpoint as the Rust bootstrap. The loop at the bottom is
what the Python runtime's own bootstrap does (poll /invocation/next, call the handler, post the
answer), reduced to the essentials: it is lighter than AWS's runtime interface client, which
favours the baseline.
"""

import datetime
import hashlib
import json
import os
import urllib.request

import boto3

# Clients are created once per cold start, at import time, as Lambda guides recommend.
ec2 = boto3.client("ec2")
autoscaling = boto3.client("autoscaling")
elbv2 = boto3.client("elbv2")

ISOLATION_GROUP = os.environ.get("FIREBREAK_ISOLATION_GROUP_NAME", "firebreak-isolation")
UNTRACKING_GROUP = ISOLATION_GROUP + "-untracking"
EXEMPT_TAG = os.environ.get("FIREBREAK_EXEMPT_TAG_KEY", "firebreak:exempt")


def find_or_create_group(vpc_id, name, all_traffic):
    found = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    if found:
        return found[0]["GroupId"]
    group_id = ec2.create_security_group(GroupName=name, Description="Firebreak baseline", VpcId=vpc_id)["GroupId"]
    everything = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]
    if all_traffic:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=everything)
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[everything[0]])
    else:
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
    return group_id


def handler(event, context):
    detail = event["detail"]
    if detail["type"].startswith("AttackSequence:"):
        # An attack sequence names many instances: each is quarantined in turn.
        resources = detail["service"]["detection"]["sequence"]["resources"]
        ids = [r["uid"].split("/")[-1] for r in resources if r["resourceType"] == "EC2_INSTANCE"]
        results = [quarantine(detail, instance_id) for instance_id in ids]
        contained = all(r["outcome"] == "contained" for r in results)
        return {"outcome": "contained" if contained else "failed", "results": results}
    return quarantine(detail, detail["resource"]["instanceDetails"]["instanceId"])


def quarantine(detail, instance_id):
    case_id = "fb-" + hashlib.sha256(detail["id"].encode()).hexdigest()[:16]

    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    if EXEMPT_TAG in tags:
        return {"outcome": "skipped", "reason": "exempt"}
    interfaces = ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
    )["NetworkInterfaces"]

    # Contain: isolate every ENI, passing through the untracking group to cut live connections.
    for eni in interfaces:
        isolation = find_or_create_group(eni["VpcId"], ISOLATION_GROUP, all_traffic=False)
        untracking = find_or_create_group(eni["VpcId"], UNTRACKING_GROUP, all_traffic=True)
        original = ",".join(g["GroupId"] for g in eni["Groups"])
        ec2.create_tags(Resources=[eni["NetworkInterfaceId"]], Tags=[{"Key": "firebreak:original-groups", "Value": original}])
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni["NetworkInterfaceId"], Groups=[untracking])
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni["NetworkInterfaceId"], Groups=[isolation])

    asg = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"]
    if asg:
        name = asg[0]["AutoScalingGroupName"]
        ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "firebreak:autoscaling-group", "Value": name}])
        autoscaling.detach_instances(
            InstanceIds=[instance_id], AutoScalingGroupName=name, ShouldDecrementDesiredCapacity=False
        )
    ec2.modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": True})
    ec2.modify_instance_attribute(InstanceId=instance_id, InstanceInitiatedShutdownBehavior={"Value": "stop"})

    # Preserve.
    snapshot_tags = [
        {"Key": "firebreak:case", "Value": case_id},
        {"Key": "firebreak:finding-id", "Value": detail["id"]},
        {"Key": "firebreak:instance-id", "Value": instance_id},
    ]
    snapshots = ec2.create_snapshots(
        InstanceSpecification={"InstanceId": instance_id, "ExcludeBootVolume": False},
        Description=f"Firebreak evidence of {instance_id}",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": snapshot_tags}],
    )["Snapshots"]
    for group in elbv2.describe_target_groups()["TargetGroups"]:
        health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
        for target in (h["Target"] for h in health):
            if target["Id"] == instance_id:
                elbv2.deregister_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[target])
    associations = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}, {"Name": "state", "Values": ["associated"]}]
    )["IamInstanceProfileAssociations"]
    for association in associations:
        ec2.create_tags(
            Resources=[instance_id],
            Tags=[{"Key": "firebreak:instance-profile", "Value": association["IamInstanceProfile"]["Arn"]}],
        )
        ec2.disassociate_iam_instance_profile(AssociationId=association["AssociationId"])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ec2.create_tags(
        Resources=[instance_id],
        Tags=[
            {"Key": "firebreak:case", "Value": case_id},
            {"Key": "firebreak:finding-id", "Value": detail["id"]},
            {"Key": "firebreak:finding-type", "Value": detail["type"]},
            {"Key": "firebreak:quarantined-at", "Value": now},
        ],
    )
    return {"outcome": "contained", "case_id": case_id, "snapshots": [s["SnapshotId"] for s in snapshots]}


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    while True:
        with urllib.request.urlopen(api + "next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read())
        try:
            body, path = json.dumps(handler(event, None)).encode(), "/response"
        except Exception as error:  # the runtime reports any handler error
            body, path = json.dumps({"errorMessage": str(error), "errorType": type(error).__name__}).encode(), "/error"
        urllib.request.urlopen(urllib.request.Request(api + request_id + path, data=body, method="POST")).close()


if __name__ == "__main__":
    main()
