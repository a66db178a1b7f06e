"""Checks the deployment templates against the code and the sample events, offline.

usage: infra_check.py SAM_TEMPLATE CDK_SYNTHESISED_TEMPLATE MEMBER_ROLE_TEMPLATE

- every crate in functions/ is deployed by SAM and by CDK, and nothing else is;
- every EventBridge pattern is run through moto's EventBridge pattern matcher (the emulator's
  TestEventPattern implementation) against every file in events/: a function's rules match
  every event in events/<function>/ and none in any other directory; a scheduled event is
  delivered by the schedule rule its `resources` names (schedule rules need a literal Name);
- each function's role allows exactly the IAM actions its code calls (code_actions.py), plus the
  Lambda platform's own (logs, the failure queue), which must be scoped to their resources; no
  mutating action on "*"; every mutating EC2/Auto Scaling/ELB/IAM action is denied on resources
  tagged with the exemption key;
- an action a Parameter switches on (CONDITIONAL_GRANTS) is allowed only under its condition (a
  policy under `Fn::If`, or a policy resource with that Condition), the condition is "the
  Parameter is true", the function granted it sets its variable from that Parameter; nothing
  else is granted under a condition;
- the member-account role allows exactly the union of what the functions call in a member account;
- the case ledger: one DynamoDB table (key case_id, on demand, point-in-time recovery, encrypted
  with KMS, deletion protection, retained on stack deletion and replacement); every dynamodb
  action a role allows is on that table's ARN and nothing else;
- each function sets exactly the FIREBREAK_* variables its own reachable code names, each from a
  Parameter or a resource of the stack, with the same Parameters in SAM and CDK;
- async invocation: retries, maximum event age, an SQS on-failure destination; reserved
  concurrency; a log group with retention; provided.al2023 on arm64.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from cfnlint.decode import decode
from moto.events.models import EventPattern

from code_actions import Workspace

ROOT = Path(__file__).resolve().parents[2]

# What the Lambda service does with the function's role, not the code: write its logs, deliver a
# failed event to the on-failure queue (CDK's grant adds the two read calls). Never on "*".
PLATFORM_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}
READ_VERBS = ("Describe", "Get", "List", "BatchGet", "Lookup")
# Mutating actions allowed on "*", each with the reason (AWS supports no resource for it).
MUTATING_ON_ANY_RESOURCE_ALLOWED: dict[str, str] = {
    "guardduty:StartMalwareScan": "the Service Authorization Reference gives StartMalwareScan no resource type",
}
# Services whose resources carry tags the exemption deny can test with aws:ResourceTag.
TAG_GUARDED_SERVICES = {"ec2", "autoscaling", "elasticloadbalancing", "iam"}
# Calls made in the security account itself, never through the member-account role: alerts go to
# the topic in this stack, findings are updated through the Security Hub administrator, the role
# is assumed from here, and the organisation's accounts are listed from here (ListAccounts
# answers only in the management or a delegated-administrator account; the code calls it with the
# function's own clients), and the case ledger is the table of this stack (every function reads and
# writes its cases with its own clients, `accounts.home().dynamodb`, whatever account the case
# concerns; `firebreak cases` scans it with the responder's credentials). Not among them: BatchImportFindings (an incident that is not a finding,
# and each account's posture gaps, are imported into the account they concern, through its role)
# and GetFindings (audit-posture reads each audited account's own earlier gaps through its role).
HOME_ACCOUNT_ACTIONS = {
    "sns:Publish",
    "sts:AssumeRole",
    "securityhub:BatchUpdateFindings",
    "organizations:ListAccounts",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:Scan",
    # The canary reads the rules and quarantine-instance's log group of this stack.
    "events:DescribeRule",
    "logs:FilterLogEvents",
    # The response policy is this stack's parameter; approve_within schedules go to this stack's
    # group, run as this stack's scheduler role (docs/response-policy.md).
    "ssm:GetParameter",
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    # release forwards Security Hub "Approve" / "Reject" to this stack's function holding the case.
    "lambda:InvokeFunction",
}
# The case ledger's settings (docs/cases.md), the same in SAM and CDK: property -> required value.
CASES_TABLE_PROPERTIES = {
    "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "case_id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "case_id", "AttributeType": "S"}],
    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    "DeletionProtectionEnabled": True,
}
# Actions a function's role gets only when a "true"/"false" Parameter says so, with the variable
# that tells its code the same: action -> (Parameter, variable).
CONDITIONAL_GRANTS: dict[str, tuple[str, str]] = {
    # audit-posture audits the whole organisation only when deployed where it may list it.
    "organizations:ListAccounts": ("AuditOrganization", "FIREBREAK_AUDIT_ORGANIZATION"),
}
# The key a statement carries, in this script only, naming the template Condition it is under.
UNDER_CONDITION = "__condition"

errors: list[str] = []


class EventBridgePattern(EventPattern):
    """moto's matcher, with EventBridge's handling of arrays of objects.

    moto flattens nested objects but stops at arrays, so a pattern on `detail.findings.ProductArn`
    (Security Hub events carry their findings in an array) never matches there. EventBridge
    matches a field inside an array of objects against the values of that field in every element
    ("Arrays in EventBridge event patterns"); this flattening does the same, and leaves
    everything else to moto.
    """

    @staticmethod
    def _flatten_dict(node, prefix: str = "", result: dict | None = None) -> dict:
        result = {} if result is None else result

        def put(key: str, value) -> None:
            if key not in result:
                result[key] = value
                return
            merged = result[key] if isinstance(result[key], list) else [result[key]]
            result[key] = merged + (value if isinstance(value, list) else [value])

        def walk(value, key: str) -> None:
            if isinstance(value, dict) and value:
                for k, v in value.items():
                    walk(v, f"{key}.{k}" if key else k)
            elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
                for item in value:
                    walk(item, key)
            else:
                put(key, value)

        walk(node, prefix)
        return result


def fail(message: str) -> None:
    errors.append(message)


def is_mutating(action: str) -> bool:
    return not action.split(":", 1)[1].startswith(READ_VERBS)


# ---------------------------------------------------------------------------- templates
def load(path: Path) -> dict:
    if path.suffix == ".json":
        return json.loads(path.read_text())
    template, matches = decode(str(path))
    if template is None:
        raise SystemExit(f"{path}: cannot be parsed: {matches}")
    return template


def sub_string(value) -> str | None:
    """The text of a Fn::Sub, with ${X} left as the placeholder `${X}`."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


def policy_document(document) -> dict:
    text = sub_string(document)
    if text is not None:
        return json.loads(text)
    if isinstance(document, str):
        return json.loads(document)
    return document


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def unless_condition(value, condition: str | None, where: str) -> list[tuple[object, str | None]]:
    """`value` with the template Condition it applies under: an `Fn::If [c, x, AWS::NoValue]` is
    `x` under `c`; any other `Fn::If` (a grant in both branches) is refused."""
    if isinstance(value, dict) and "Fn::If" in value:
        name, then, otherwise = value["Fn::If"]
        if otherwise != {"Ref": "AWS::NoValue"} or condition is not None:
            fail(f"{where}: a grant under Fn::If must be [Condition, grant, AWS::NoValue], not nested: {json.dumps(value)[:200]}")
            return []
        return unless_condition(then, name, where)
    return [(value, condition)]


def statements_of_role(resources: dict, role_id: str) -> list[dict]:
    """The role's statements, each marked with the Condition it is under (UNDER_CONDITION)."""
    role = resources[role_id]
    if role["Type"] != "AWS::IAM::Role":
        raise SystemExit(f"{role_id} is not an AWS::IAM::Role")
    if role["Properties"].get("ManagedPolicyArns"):
        fail(f"role {role_id}: managed policies are not reviewable least privilege: {role['Properties']['ManagedPolicyArns']}")
    documents = [
        (policy["PolicyDocument"], condition)
        for item in role["Properties"].get("Policies", [])
        for policy, condition in unless_condition(item, None, f"role {role_id}")
    ]
    for resource in resources.values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            props = resource["Properties"]
            roles = props.get("Roles", []) + ([props["RoleName"]] if "RoleName" in props else [])
            if {"Ref": role_id} in roles:
                documents.append((props["PolicyDocument"], resource.get("Condition")))
    statements = []
    for document, condition in documents:
        for item in as_list(policy_document(document)["Statement"]):
            for statement, under in unless_condition(item, condition, f"role {role_id}"):
                statements.append({**statement, UNDER_CONDITION: under} if under else statement)
    return statements


def role_of(resources: dict, function_props: dict) -> str:
    role = function_props.get("Role")
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        target = role["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else target.split(".")[0]
    raise SystemExit(f"function role must be an AWS::IAM::Role of the template (Fn::GetAtt), found {role!r}")


def ref_id(value) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
        # A list of the stack's resources (the canary's rule names), joined.
        if "Fn::Join" in value and isinstance(value["Fn::Join"][1], list):
            ids = [ref_id(part) for part in value["Fn::Join"][1]]
            return ids[0] if ids and all(ids) else None
    return None


class Deployed:
    """One function as a template deploys it."""

    def __init__(self, name: str, logical_id: str):
        self.name = name
        self.logical_id = logical_id
        self.patterns: list[dict] = []
        # (expression, rule name): a scheduled event names its rule in `resources`
        self.schedules: list[tuple[str, str | None]] = []
        self.statements: list[dict] = []
        self.environment: dict = {}
        self.settings: dict = {}


def sam_functions(template: dict) -> dict[str, Deployed]:
    resources = template["Resources"]
    globals_ = template.get("Globals", {}).get("Function", {})
    found = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **resource["Properties"]}
        metadata = resource.get("Metadata", {})
        name = metadata.get("BuildProperties", {}).get("Binary")
        if metadata.get("BuildMethod") != "rust-cargolambda" or not name:
            fail(f"SAM {logical_id}: Metadata needs BuildMethod rust-cargolambda and BuildProperties.Binary")
            continue
        if props.get("Tags", {}).get("firebreak:function") != name:
            fail(f"SAM {logical_id}: tag firebreak:function must be {name}")
        function = Deployed(name, logical_id)
        for event_id, event in props.get("Events", {}).items():
            if event["Type"] == "EventBridgeRule":
                function.patterns.append(event["Properties"]["Pattern"])
            elif event["Type"] == "Schedule":
                function.schedules.append((event["Properties"]["Schedule"], event["Properties"].get("Name")))
            else:
                fail(f"SAM {logical_id}: event {event_id} of type {event['Type']} is not checked by this script")
        function.statements = statements_of_role(resources, role_of(resources, props))
        function.environment = {**globals_.get("Environment", {}).get("Variables", {}), **resource["Properties"].get("Environment", {}).get("Variables", {})}
        invoke = props.get("EventInvokeConfig", {})
        function.settings = deployment_settings(resources, props, invoke)
        found[name] = function
    return found


def deployment_settings(resources: dict, props: dict, invoke: dict) -> dict:
    """What check_settings compares, read the same way from a SAM or a CDK function."""
    on_failure = invoke.get("DestinationConfig", {}).get("OnFailure", {})
    return {
        "runtime": props.get("Runtime"),
        "architectures": props.get("Architectures"),
        "memory": props.get("MemorySize"),
        "reserved": props.get("ReservedConcurrentExecutions"),
        "retries": invoke.get("MaximumRetryAttempts"),
        "max_age": invoke.get("MaximumEventAgeInSeconds"),
        "on_failure": resources.get(ref_id(on_failure.get("Destination")) or "", {}).get("Type"),
        "log_group": resources.get(ref_id(props.get("LoggingConfig", {}).get("LogGroup")) or "", {}),
    }


def cdk_functions(template: dict) -> dict[str, Deployed]:
    resources = template["Resources"]
    found = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
        name = tags.get("firebreak:function")
        if not name:
            continue  # not a Firebreak function (none expected; CDK helpers would show here)
        function = Deployed(name, logical_id)
        for rule in resources.values():
            if rule["Type"] != "AWS::Events::Rule":
                continue
            if any(ref_id(t["Arn"]) == logical_id for t in rule["Properties"].get("Targets", [])):
                if "EventPattern" in rule["Properties"]:
                    function.patterns.append(rule["Properties"]["EventPattern"])
                if "ScheduleExpression" in rule["Properties"]:
                    function.schedules.append((rule["Properties"]["ScheduleExpression"], rule["Properties"].get("Name")))
        function.statements = statements_of_role(resources, role_of(resources, props))
        function.environment = props.get("Environment", {}).get("Variables", {})
        invoke = next(
            (r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig" and ref_id(r["Properties"]["FunctionName"]) == logical_id),
            {},
        )
        function.settings = deployment_settings(resources, props, invoke)
        found[name] = function
    return found


# ---------------------------------------------------------------------------- checks
def check_inventory(kind: str, deployed: dict[str, Deployed], in_code: set[str], needs: dict[str, str]) -> None:
    for name in sorted(in_code - deployed.keys()):
        fail(f"{kind}: functions/{name} is not deployed (add it: docs/deploy.md, 'Adding a function'); {needs[name]}")
    for name in sorted(deployed.keys() - in_code):
        fail(f"{kind}: deploys {name}, which is not a crate in functions/")


ONE_VCPU_MB = 1769


def check_settings(kind: str, function: Deployed) -> None:
    s = function.settings
    where = f"{kind} {function.name}"
    if s["runtime"] != "provided.al2023" or s["architectures"] != ["arm64"]:
        fail(f"{where}: runtime must be provided.al2023 on arm64, found {s['runtime']} {s['architectures']}")
    # One full vCPU (docs/performance.md): Lambda hands out CPU in proportion to memory.
    if s["memory"] != ONE_VCPU_MB:
        fail(f"{where}: MemorySize must be {ONE_VCPU_MB} MB (one full vCPU), found {s['memory']}")
    if s["reserved"] is None:
        fail(f"{where}: no reserved concurrency")
    if s["retries"] is None or s["max_age"] is None:
        fail(f"{where}: async invocation needs MaximumRetryAttempts and MaximumEventAgeInSeconds")
    if s["on_failure"] != "AWS::SQS::Queue":
        fail(f"{where}: the on-failure destination must be an SQS queue of the stack")
    if s["log_group"].get("Type") != "AWS::Logs::LogGroup" or "RetentionInDays" not in s["log_group"].get("Properties", {}):
        fail(f"{where}: needs its own log group with RetentionInDays (LoggingConfig.LogGroup)")
    if not function.patterns and not function.schedules:
        fail(f"{where}: no trigger")


def allowed_actions(statements: list[dict]) -> dict[str, list]:
    """Allowed action -> the resources of the statements that allow it."""
    allowed: dict[str, list] = {}
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            if "*" in action:
                fail(f"wildcard action {action!r}: name each action")
            allowed.setdefault(action, []).extend(as_list(statement["Resource"]))
    return allowed


def check_policy(kind: str, function: Deployed, code_actions: dict[str, list[str]], exempt_key_ref: str) -> None:
    where = f"{kind} {function.name}"
    allowed = allowed_actions(function.statements)
    for action in sorted(code_actions.keys() - allowed.keys()):
        fail(f"{where}: the code calls {action} ({code_actions[action][0]}) but the role does not allow it")
    for action in sorted(allowed.keys() - code_actions.keys() - PLATFORM_ACTIONS):
        fail(f"{where}: the role allows {action}, which the code never calls")
    for action, resources in sorted(allowed.items()):
        if "*" in resources and (action in PLATFORM_ACTIONS or (is_mutating(action) and action not in MUTATING_ON_ANY_RESOURCE_ALLOWED)):
            fail(f"{where}: {action} is allowed on every resource; scope it")
    guarded = set()
    for statement in function.statements:
        condition = json.dumps(statement.get("Condition", {}))
        if statement["Effect"] == "Deny" and as_list(statement["Resource"]) == ["*"] and f"aws:ResourceTag/{exempt_key_ref}" in condition:
            guarded |= set(as_list(statement["Action"]))
    for action in sorted(a for a in allowed if a.split(":")[0] in TAG_GUARDED_SERVICES and is_mutating(a) and a not in guarded):
        fail(f"{where}: {action} is not denied on resources tagged with the exemption key")


def check_conditional_grants(kind: str, function: Deployed, conditions: dict) -> None:
    """CONDITIONAL_GRANTS hold: each such action only under "its Parameter is true", the variable
    set from that Parameter; nothing else under any condition."""
    where = f"{kind} {function.name}"
    for statement in function.statements:
        actions = as_list(statement["Action"])
        under = statement.get(UNDER_CONDITION)
        for action in actions:
            wanted = CONDITIONAL_GRANTS.get(action)
            if statement["Effect"] != "Allow":
                if under:
                    fail(f"{where}: a Deny under Condition {under} ({action}) would leave the role unguarded when it is false")
                continue
            if wanted is None:
                if under:
                    fail(f"{where}: {action} is granted only under Condition {under}; nothing but {sorted(CONDITIONAL_GRANTS)} may be conditional")
                continue
            parameter, variable = wanted
            if not under:
                fail(f"{where}: {action} is granted unconditionally; grant it only under a Condition on Parameter {parameter}")
                continue
            expression = conditions.get(under)
            is_parameter_true = expression in (
                {"Fn::Equals": [{"Ref": parameter}, "true"]},
                {"Fn::Equals": ["true", {"Ref": parameter}]},
            )
            if not is_parameter_true:
                fail(f"{where}: {action} is granted under Condition {under} = {json.dumps(expression)}, which is not `{parameter} equals \"true\"`")
            if function.environment.get(variable) != {"Ref": parameter}:
                fail(f"{where}: granted {action} under {parameter}, so it must set {variable} from !Ref {parameter}")


def check_environment(kind: str, function: Deployed, variables: dict[str, str], parameters: set[str]) -> None:
    for variable in sorted(variables.keys() - function.environment.keys()):
        fail(f"{kind} {function.name}: the code reads {variable} ({variables[variable]}), which is not set (add a Parameter and the variable)")
    for variable in sorted(v for v in function.environment.keys() - variables.keys() if v.startswith("FIREBREAK_")):
        fail(f"{kind} {function.name}: sets {variable}, which its code never reads")
    for variable, value in function.environment.items():
        if variable.startswith("FIREBREAK_") and ref_id(value) is None:
            fail(f"{kind} {function.name}: {variable} must come from a Parameter or a resource, not a constant")
        elif variable.startswith("FIREBREAK_") and isinstance(value, dict) and "Ref" in value and value["Ref"] not in parameters and not value["Ref"][0].isupper():
            fail(f"{kind} {function.name}: {variable} refers to unknown {value['Ref']}")


def event_files() -> dict[Path, dict]:
    return {path: json.loads(path.read_text()) for path in sorted((ROOT / "events").glob("*/*.json"))}


def is_schedule_event(event: dict) -> bool:
    return event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"


def delivered_by_schedule(event: dict, rule_names: list[str]) -> bool:
    """EventBridge delivers a scheduled event to the rule's targets only, naming that rule's ARN."""
    return is_schedule_event(event) and any(
        isinstance(arn, str) and arn.endswith(f":rule/{rule}") for arn in event.get("resources", []) for rule in rule_names
    )


# Events EventBridge delivers to more than one function, each doing its own part (the sample's path
# under events/ -> the other functions): an attack sequence names instances (quarantine-instance)
# and the instance profile they share (revoke-credentials).
ALSO_DELIVERED: dict[str, set[str]] = {
    "quarantine-instance/guardduty-attack-sequence-ec2-instance-group.json": {"revoke-credentials"},
    # A data compromise: its buckets (contain-bucket) and the principals that took the data.
    "contain-bucket/guardduty-attack-sequence-s3-compromised-data.json": {"revoke-credentials"},
    # An ECS sequence names its tasks (quarantine-task) and the access key used from them
    # (revoke-credentials).
    "quarantine-task/guardduty-attack-sequence-ecs-compromised-cluster.json": {"revoke-credentials"},
    # The same through Security Hub (v2): the instances, and the profile they share.
    "quarantine-instance/securityhub-v2-imported-guardduty-attack-sequence-ec2.json": {"revoke-credentials"},
    # An instance's role credentials used elsewhere: the credentials are revoked; quarantine-instance
    # (its rule matches the instance) leaves the finding, reported, as the native routing would.
    "revoke-credentials/securityhub-v2-imported-guardduty-instance-credential-exfiltration.json": {"quarantine-instance"},
}


def check_patterns(kind: str, deployed: dict[str, Deployed], events: dict[Path, dict]) -> int:
    compared = 0
    for name, function in deployed.items():
        matchers = [EventBridgePattern.load(json.dumps(p)) for p in function.patterns]
        rule_names = [rule for _, rule in function.schedules if isinstance(rule, str)]
        for expression, rule in function.schedules:
            if not isinstance(rule, str):
                fail(f"{kind} {name}: the schedule {expression} needs a literal rule Name (its events name the rule in `resources`)")
        for path, event in events.items():
            also = ALSO_DELIVERED.get(f"{path.parent.name}/{path.name}", set())
            meant_for_it = path.parent.name == name or name in also
            matched = any(m.matches_event(event) for m in matchers) or delivered_by_schedule(event, rule_names)
            compared += 1
            if meant_for_it and not matched:
                fail(f"{kind} {name}: no rule matches {path.relative_to(ROOT)}, filed for it")
            if matched and not meant_for_it:
                fail(f"{kind} {name}: a rule matches {path.relative_to(ROOT)}, which is filed for {path.parent.name} (and ALSO_DELIVERED does not list {name} for it)")
    return compared


def normalised(patterns: list) -> list[str]:
    return sorted(json.dumps(p, sort_keys=True) for p in patterns)


def cases_table(kind: str, template: dict) -> str | None:
    """The logical id of the case ledger, after checking its settings."""
    tables = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        fail(f"{kind}: expected one DynamoDB table (the case ledger), found {tables}")
        return None
    table = template["Resources"][tables[0]]
    props = table["Properties"]
    for key, wanted in CASES_TABLE_PROPERTIES.items():
        if props.get(key) != wanted:
            fail(f"{kind} {tables[0]}: {key} must be {json.dumps(wanted)}, found {json.dumps(props.get(key))}")
    sse = props.get("SSESpecification", {})
    if sse.get("SSEEnabled") is not True or sse.get("SSEType", "KMS") != "KMS":
        fail(f"{kind} {tables[0]}: SSESpecification must enable KMS encryption, found {json.dumps(sse)}")
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        if table.get(policy) != "Retain":
            fail(f"{kind} {tables[0]}: {policy} must be Retain (the ledger outlives the stack), found {table.get(policy)}")
    return tables[0]


def check_table_grants(kind: str, function: Deployed, table_id: str | None) -> None:
    """Every dynamodb action is allowed on the ledger's ARN only."""
    for statement in function.statements:
        actions = [a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")]
        if not actions or statement["Effect"] != "Allow":
            continue
        resources = as_list(statement["Resource"])
        on_table = table_id is not None and len(resources) == 1 and resources[0] in (
            {"Fn::GetAtt": [table_id, "Arn"]},
            {"Fn::GetAtt": f"{table_id}.Arn"},
        )
        if not on_table:
            fail(f"{kind} {function.name}: {', '.join(actions)} must be allowed on the case ledger's ARN only (Fn::GetAtt {table_id}.Arn), found {json.dumps(resources)}")


def check_member_role(template: dict, member_actions: set[str]) -> None:
    resources = template["Resources"]
    roles = [i for i, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    if len(roles) != 1:
        fail(f"member-role.yaml: expected one role, found {roles}")
        return
    role = resources[roles[0]]["Properties"]
    trust = json.dumps(role["AssumeRolePolicyDocument"])
    for needed in ("sts:ExternalId", "aws:PrincipalArn", "/firebreak/"):
        if needed not in trust:
            fail(f"member-role.yaml: the trust policy must use {needed}")
    allowed = allowed_actions(statements_of_role(resources, roles[0]))
    for action in sorted(member_actions - allowed.keys()):
        fail(f"member-role.yaml: a function calls {action} in member accounts but the role does not allow it")
    for action in sorted(allowed.keys() - member_actions):
        fail(f"member-role.yaml: the role allows {action}, which no function calls in a member account")
    for action, resources_ in sorted(allowed.items()):
        if "*" in resources_ and is_mutating(action) and action not in MUTATING_ON_ANY_RESOURCE_ALLOWED:
            fail(f"member-role.yaml: {action} is allowed on every resource; scope it")


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    sam, cdk, member = (load(Path(p)) for p in argv[1:])
    workspace = Workspace(ROOT)
    functions = workspace.functions()
    code_actions = {name: workspace.actions_of(path) for name, path in functions.items()}
    variables = {name: workspace.variables_of(path) for name, path in functions.items()}
    events = event_files()
    needs = {
        name: f"its code calls {', '.join(sorted(code_actions[name])) or 'nothing on AWS'} and reads {', '.join(sorted(variables[name])) or 'no FIREBREAK_* variable'}"
        for name in functions
    }

    templates = {"SAM": sam, "CDK": cdk}
    by_kind = {"SAM": sam_functions(sam), "CDK": cdk_functions(cdk)}
    parameters = {"SAM": set(sam.get("Parameters", {})), "CDK": set(cdk.get("Parameters", {})) - {"BootstrapVersion"}}
    if parameters["SAM"] != parameters["CDK"]:
        fail(f"SAM and CDK Parameters differ: only SAM {sorted(parameters['SAM'] - parameters['CDK'])}, only CDK {sorted(parameters['CDK'] - parameters['SAM'])}")
    compared = 0
    for kind, deployed in by_kind.items():
        check_inventory(kind, deployed, set(functions), needs)
        table_id = cases_table(kind, templates[kind])
        for name, function in deployed.items():
            check_settings(kind, function)
            check_table_grants(kind, function, table_id)
            check_policy(kind, function, code_actions.get(name, {}), "${ExemptTagKey}")
            check_conditional_grants(kind, function, templates[kind].get("Conditions", {}))
            check_environment(kind, function, variables.get(name, {}), parameters[kind])
        compared += check_patterns(kind, deployed, events)
    for name in by_kind["SAM"].keys() & by_kind["CDK"].keys():
        sam_f, cdk_f = by_kind["SAM"][name], by_kind["CDK"][name]
        if normalised(sam_f.patterns) != normalised(cdk_f.patterns) or sorted(sam_f.schedules) != sorted(cdk_f.schedules):
            fail(f"{name}: SAM and CDK rules differ:\n  SAM {normalised(sam_f.patterns)} {sam_f.schedules}\n  CDK {normalised(cdk_f.patterns)} {cdk_f.schedules}")
    for directory in sorted({p.parent.name for p in events}):
        if directory not in functions:
            print(f"note: events/{directory}/ is for a function not in functions/ yet; checked only that no rule matches it")

    member_actions = {a for actions in code_actions.values() for a in actions} - HOME_ACCOUNT_ACTIONS
    check_member_role(member, member_actions)

    if errors:
        print("infra check FAILED:", file=sys.stderr)
        for message in errors:
            print(f"  - {message}", file=sys.stderr)
        return 1
    total_actions = sum(len(a) for a in code_actions.values())
    conditional = ", ".join(
        f"{action} only for {' and '.join(sorted(n for n, a in code_actions.items() if action in a))} when {parameter} is true"
        for action, (parameter, _) in sorted(CONDITIONAL_GRANTS.items())
    )
    print(
        f"infra check: {len(functions)} function(s) deployed by SAM and CDK; {total_actions} code-derived IAM action(s) "
        f"match their roles ({conditional}; the ledger's on its table only); {compared} rule/event pairs through moto's EventBridge matcher (arrays of objects flattened as EventBridge does); member role allows {len(member_actions)} action(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
