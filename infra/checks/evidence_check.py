"""Checks the forensic evidence template (infra/evidence.yaml) and its CDK twin, offline.

usage: evidence_check.py EVIDENCE_TEMPLATE CDK_SYNTHESISED_EVIDENCE_TEMPLATE

- the CDK stack FirebreakEvidence (infra/cdk/lib/evidence.ts) deploys exactly what evidence.yaml
  does: the same Parameters, Conditions and resources, property by property;
- the evidence bucket: Object Lock in COMPLIANCE mode for RetentionDays, versioning, SSE-KMS with
  the template's key, every public access block, access logging, retained with the stack, a
  TLS-only deny;
- the forensic role allows the SSM agent's actions (those of AmazonSSMManagedInstanceCore) and
  exactly the AWS calls the capture document's scripts make (each `aws s3 cp` is s3:PutObject),
  nothing more; every write, in the role and in the bucket policy, only under the writing
  instance's own ARN (`${ec2:SourceInstanceARN}`), the prefix the document is given;
- the investigators' role only reads.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from cfnlint.decode import decode

# The actions of the AWS managed policy AmazonSSMManagedInstanceCore: what the SSM agent calls.
SSM_AGENT_ACTIONS = {
    "ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument",
    "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters",
    "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems",
    "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus",
    "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint",
    "ec2messages:GetMessages", "ec2messages:SendReply",
}
# AWS CLI commands a capture script may run -> the IAM action each needs. Anything else is refused.
CLI_ACTIONS = {("s3", "cp"): "s3:PutObject"}
OWN_INSTANCE = "${ec2:SourceInstanceARN}"

errors: list[str] = []


def fail(message: str) -> None:
    errors.append(message)


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def normalised(value):
    """CDK writes `Fn::GetAtt: "X.Arn"` where YAML has `[X, Arn]`; its Metadata is its own."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"} and isinstance(value["Fn::GetAtt"], str):
            return {"Fn::GetAtt": value["Fn::GetAtt"].split(".", 1)}
        return {k: normalised(v) for k, v in value.items() if k != "Metadata"}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def text(value) -> str:
    """A resource or Sub string as written (`${X}` placeholders kept)."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return json.dumps(value) if not isinstance(value, str) else value


def check_same(sam: dict, cdk: dict) -> None:
    for section in ("Parameters", "Conditions", "Resources"):
        a = normalised(json.loads(json.dumps(sam.get(section, {}))))
        b = normalised(cdk.get(section, {}))
        if section == "Parameters":
            b.pop("BootstrapVersion", None)
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                fail(f"CDK FirebreakEvidence and evidence.yaml differ in {section}.{key}:\n    yaml {json.dumps(a.get(key))[:300]}\n    cdk  {json.dumps(b.get(key))[:300]}")


def one(resources: dict, kind: str, name: str | None = None) -> tuple[str, dict]:
    found = [(i, r) for i, r in resources.items() if r["Type"] == kind and (name is None or i == name)]
    if len(found) != 1:
        raise SystemExit(f"evidence.yaml: expected one {kind} {name or ''}, found {[i for i, _ in found]}")
    return found[0]


def check_bucket(resources: dict) -> None:
    bucket_id, bucket = one(resources, "AWS::S3::Bucket", "EvidenceBucket")
    props = bucket["Properties"]
    lock = props.get("ObjectLockConfiguration", {})
    retention = lock.get("Rule", {}).get("DefaultRetention", {})
    if props.get("ObjectLockEnabled") is not True or lock.get("ObjectLockEnabled") != "Enabled":
        fail("EvidenceBucket: Object Lock must be enabled")
    if retention.get("Mode") != "COMPLIANCE" or retention.get("Days") != {"Ref": "RetentionDays"}:
        fail(f"EvidenceBucket: default retention must be COMPLIANCE for RetentionDays, found {retention}")
    if props.get("VersioningConfiguration") != {"Status": "Enabled"}:
        fail("EvidenceBucket: versioning must be Enabled")
    sse = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0].get("ServerSideEncryptionByDefault", {})
    if sse.get("SSEAlgorithm") != "aws:kms" or "EvidenceKey" not in json.dumps(sse.get("KMSMasterKeyID")):
        fail(f"EvidenceBucket: SSE-KMS with EvidenceKey required, found {sse}")
    if props.get("PublicAccessBlockConfiguration") != dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    ):
        fail("EvidenceBucket: every public access block must be on")
    if "DestinationBucketName" not in props.get("LoggingConfiguration", {}):
        fail("EvidenceBucket: access logging required")
    if bucket.get("DeletionPolicy") != "Retain" or bucket.get("UpdateReplacePolicy") != "Retain":
        fail("EvidenceBucket: must be retained (DeletionPolicy and UpdateReplacePolicy Retain)")
    _, policy = one(resources, "AWS::S3::BucketPolicy", "EvidenceBucketPolicy")
    statements = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    tls = [s for s in statements if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    if not tls or as_list(tls[0]["Action"]) != ["s3:*"]:
        fail("EvidenceBucketPolicy: a Deny of s3:* without TLS is required")
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = set(as_list(statement["Action"]))
        principal_arn = json.dumps(statement.get("Condition", {}).get("ArnLike", {}).get("aws:PrincipalArn", ""))
        if actions & {"s3:PutObject"}:
            if actions != {"s3:PutObject"}:
                fail(f"EvidenceBucketPolicy {statement.get('Sid')}: writers get s3:PutObject only, found {sorted(actions)}")
            resource = text(statement["Resource"])
            if "FirebreakForensic" in principal_arn and resource != "${EvidenceBucket.Arn}/${!ec2:SourceInstanceARN}/*":
                fail(f"EvidenceBucketPolicy {statement.get('Sid')}: the forensic roles write only under their instance's ARN, found {resource}")
            if "aws:PrincipalOrgID" not in json.dumps(statement.get("Condition", {})):
                fail(f"EvidenceBucketPolicy {statement.get('Sid')}: writers must be limited to the organisation (or this account)")
        elif not actions <= {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"}:
            fail(f"EvidenceBucketPolicy {statement.get('Sid')}: only reads besides the writes, found {sorted(actions)}")


def document_cli_calls(document: dict) -> set[str]:
    """The IAM actions the document's scripts need, from every `aws <service> <command>` they run."""
    needed = set()
    for step in document["Content"]["mainSteps"]:
        for line in step["inputs"]["runCommand"]:
            for service, command in re.findall(r"(?:^|[;&|(]\s*|\s)aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)", line):
                action = CLI_ACTIONS.get((service, command))
                if action is None:
                    fail(f"capture document {step['name']}: `aws {service} {command}` is not a known call; add it to CLI_ACTIONS with its IAM action and grant it")
                else:
                    needed.add(action)
                    if "s3://{{ Bucket }}/{{ Prefix }}" not in line:
                        fail(f"capture document {step['name']}: uploads must go to s3://{{{{ Bucket }}}}/{{{{ Prefix }}}}: {line}")
    return needed


def check_forensic_role(resources: dict) -> None:
    _, document = one(resources, "AWS::SSM::Document")
    needed = document_cli_calls(document["Properties"])
    prefix = document["Properties"]["Content"]["parameters"]["Prefix"].get("allowedPattern", "")
    if not prefix.startswith("^arn:aws[a-z-]*:ec2:") or ":instance/i-" not in prefix:
        fail(f"capture document: Prefix must begin with the instance's ARN (what {OWN_INSTANCE} expands to), found {prefix}")
    _, role = one(resources, "AWS::IAM::Role", "ForensicRole")
    allowed: dict[str, list[str]] = {}
    for policy in role["Properties"].get("Policies", []):
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            if statement["Effect"] == "Allow":
                for action in as_list(statement["Action"]):
                    allowed.setdefault(action, []).extend(text(r) for r in as_list(statement["Resource"]))
    if role["Properties"].get("ManagedPolicyArns"):
        fail("ForensicRole: no managed policies (AmazonSSMManagedInstanceCore's actions are listed inline)")
    wanted = SSM_AGENT_ACTIONS | needed
    for action in sorted(wanted - allowed.keys()):
        fail(f"ForensicRole: does not allow {action}, which {'the SSM agent' if action in SSM_AGENT_ACTIONS else 'the capture document'} calls")
    for action in sorted(allowed.keys() - wanted):
        fail(f"ForensicRole: allows {action}, which neither the SSM agent nor the capture document calls")
    for action in sorted(needed):
        for resource in allowed.get(action, []):
            if not resource.endswith(f"/${{!{OWN_INSTANCE[2:-1]}}}/*"):
                fail(f"ForensicRole: {action} must be allowed only under the instance's own ARN ({OWN_INSTANCE}), found {resource}")


def check_investigators(resources: dict) -> None:
    _, role = one(resources, "AWS::IAM::Role", "InvestigatorsRole")
    for policy in role["Properties"].get("Policies", []):
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            # kms:Decrypt reads the SSE-KMS objects.
            mutating = [a for a in as_list(statement["Action"]) if not a.split(":")[1].startswith(("Get", "List")) and a != "kms:Decrypt"]
            if statement["Effect"] == "Allow" and mutating:
                fail(f"InvestigatorsRole: only reads, found {mutating}")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sam, matches = decode(argv[1])
    if sam is None:
        raise SystemExit(f"{argv[1]}: cannot be parsed: {matches}")
    cdk = json.loads(Path(argv[2]).read_text())
    check_same(sam, cdk)
    resources = json.loads(json.dumps(sam["Resources"]))
    check_bucket(resources)
    check_forensic_role(resources)
    check_investigators(resources)
    if errors:
        print("evidence check FAILED:", file=sys.stderr)
        for message in errors:
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(
        f"evidence check: CDK FirebreakEvidence deploys what evidence.yaml does ({len(resources)} resources); the bucket "
        f"is Object Lock COMPLIANCE, versioned, SSE-KMS, TLS-only, private, logged; the forensic role allows the SSM "
        f"agent's {len(SSM_AGENT_ACTIONS)} actions and the document's {', '.join(sorted(document_cli_calls(resources[one(resources, 'AWS::SSM::Document')[0]]['Properties'])))} "
        f"only under the instance's own ARN"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
