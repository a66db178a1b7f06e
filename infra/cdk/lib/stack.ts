// The Firebreak stack: the same resources, rules, roles and Parameters as infra/sam/template.yaml.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws, CfnCondition, CfnParameter, Duration, Fn, RemovalPolicy, Stack, StackProps, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as securityhub from 'aws-cdk-lib/aws-securityhub';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { FirebreakFunction, FUNCTIONS, HomeResources } from './functions';
import { Built, watch } from './watch';

export interface FirebreakStackProps extends StackProps {
  /**
   * Directory holding one sub-directory per function with its `bootstrap`, as
   * `cargo lambda build --release --arm64` leaves them in target/lambda/.
   */
  readonly lambdaDir: string;
  readonly functions?: FirebreakFunction[];
}

const flag = (scope: Construct, id: string, fallback: 'true' | 'false', description: string): CfnParameter =>
  new CfnParameter(scope, id, { type: 'String', default: fallback, allowedValues: ['true', 'false'], description });

export class FirebreakStack extends Stack {
  constructor(scope: Construct, id: string, props: FirebreakStackProps) {
    super(scope, id, props);

    const p = {
      DryRun: flag(this, 'DryRun', 'true', 'FIREBREAK_DRY_RUN. "true" = read, plan and report only; no mutating call. Set "false" once the reports look right.'),
      MinSeverity: new CfnParameter(this, 'MinSeverity', {
        type: 'Number', default: 4, minValue: 0, maxValue: 10,
        description: 'FIREBREAK_MIN_SEVERITY (quarantine-instance, revoke-credentials, abuse-report). GuardDuty findings below this severity are reported and left alone.',
      }),
      ExemptTagKey: new CfnParameter(this, 'ExemptTagKey', {
        type: 'String', default: 'firebreak:exempt', minLength: 1, maxLength: 128, allowedPattern: '^(?![aA][wW][sS]:).+$',
        description: 'FIREBREAK_EXEMPT_TAG_KEY. Resources carrying this tag key are never touched (the roles also deny it).',
      }),
      IsolationGroupName: new CfnParameter(this, 'IsolationGroupName', {
        type: 'String', default: 'firebreak-isolation', minLength: 1, maxLength: 240, allowedPattern: '^(?![sS][gG]-).+$',
        description: 'FIREBREAK_ISOLATION_GROUP_NAME. Per-VPC security group with no rules (its untracking twin is <name>-untracking).',
      }),
      StopInstance: flag(this, 'StopInstance', 'false', 'FIREBREAK_STOP_INSTANCE. Stop the instance after its volumes are snapshotted (loses memory).'),
      Snapshot: flag(this, 'Snapshot', 'true', 'FIREBREAK_SNAPSHOT. Snapshot every EBS volume of a quarantined instance.'),
      StopTask: flag(this, 'StopTask', 'false', 'FIREBREAK_STOP_TASK (quarantine-task). Stop the ECS task once it is isolated and tagged (its memory and processes, the evidence, are lost).'),
      ActOnSampleFindings: flag(this, 'ActOnSampleFindings', 'false', "FIREBREAK_ACT_ON_SAMPLE_FINDINGS. Act on GuardDuty's generated sample findings."),
      CutTrackedConnections: flag(this, 'CutTrackedConnections', 'true', 'FIREBREAK_CUT_TRACKED_CONNECTIONS. Pass interfaces through an all-traffic group so established connections end.'),
      ForensicKmsKey: new CfnParameter(this, 'ForensicKmsKey', {
        type: 'String', default: '', allowedPattern: '^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$',
        description: 'FIREBREAK_FORENSIC_KMS_KEY (quarantine-instance, revoke-credentials, abuse-report). ARN of the KMS key the snapshot copies are encrypted with; its key policy must let the forensic account use it. With ForensicAccount, snapshots are copied and shared.',
      }),
      ForensicAccount: new CfnParameter(this, 'ForensicAccount', {
        type: 'String', default: '', allowedPattern: '^$|^[0-9]{12}$',
        description: "FIREBREAK_FORENSIC_ACCOUNT. The account the encrypted snapshot copies are shared with (never the instance's own).",
      }),
      MalwareScan: flag(this, 'MalwareScan', 'false', 'FIREBREAK_MALWARE_SCAN. Start a GuardDuty Malware Protection on-demand scan of a quarantined instance (at most one an hour per instance; charged by GuardDuty).'),
      EvidenceFollowupMinutes: new CfnParameter(this, 'EvidenceFollowupMinutes', {
        type: 'Number', default: 30, minValue: 5, maxValue: 720,
        description: 'FIREBREAK_EVIDENCE_FOLLOWUP_MINUTES. Minutes between the scheduled follow-ups that copy snapshots still pending to the forensic account (at most 48 follow-ups).',
      }),
      ForensicInstanceProfile: new CfnParameter(this, 'ForensicInstanceProfile', {
        type: 'String', default: '', allowedPattern: '^[A-Za-z0-9+=,.@_-]{0,128}$',
        description: "FIREBREAK_FORENSIC_INSTANCE_PROFILE. Name of the instance profile quarantine puts in place of the instance's own (its role allows only what the SSM agent needs; the same name in member accounts). Empty = the profile is removed (see docs/evidence.md).",
      }),
      IsolationAllowSsmEndpoints: flag(this, 'IsolationAllowSsmEndpoints', 'false', "FIREBREAK_ISOLATION_ALLOW_SSM_ENDPOINTS. Let the isolation group reach the VPC's ssm, ssmmessages, ec2messages (and s3) interface endpoints on 443, nothing else. Off = isolation first."),
      EvidenceBucket: new CfnParameter(this, 'EvidenceBucket', {
        type: 'String', default: '', allowedPattern: '^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$',
        description: "FIREBREAK_EVIDENCE_BUCKET. Where instance metadata, console output and the Run Command's captures go, under <instance ARN>/<case>/. Empty = none saved.",
      }),
      EvidenceDocument: new CfnParameter(this, 'EvidenceDocument', {
        type: 'String', default: '', allowedPattern: '^([A-Za-z0-9_.-]{3,128})?$',
        description: "FIREBREAK_EVIDENCE_DOCUMENT. Firebreak's SSM Command document that captures volatile state and memory (with EvidenceBucket). Empty = no capture.",
      }),
      DeactivateAllKeys: flag(this, 'DeactivateAllKeys', 'false', 'FIREBREAK_DEACTIVATE_ALL_KEYS (revoke-credentials). Disable every active key of the user, not only the named one.'),
      DeleteLoginProfile: flag(this, 'DeleteLoginProfile', 'false', "FIREBREAK_DELETE_LOGIN_PROFILE (revoke-credentials). Delete the user's console password."),
      ProtectedPrincipals: new CfnParameter(this, 'ProtectedPrincipals', {
        type: 'String', default: '',
        description: 'FIREBREAK_PROTECTED_PRINCIPALS (revoke-credentials). Comma-separated user/role names or ARNs never revoked.',
      }),
      QuarantineSourceInstance: flag(this, 'QuarantineSourceInstance', 'true', 'FIREBREAK_QUARANTINE_SOURCE_INSTANCE (revoke-credentials). Quarantine the instance whose role credentials were exfiltrated.'),
      S3BreakglassRoles: new CfnParameter(this, 'S3BreakglassRoles', {
        type: 'String', default: '',
        description: "FIREBREAK_S3_BREAKGLASS_ROLES (contain-bucket). Comma-separated IAM role ARNs the containment statement of a bucket policy still lets through (responders); Firebreak's own roles always are.",
      }),
      AdminPorts: new CfnParameter(this, 'AdminPorts', {
        type: 'String', default: '22,3389,3306,5432,1433,6379,9200,27017', allowedPattern: '^[0-9]{1,5}( *, *[0-9]{1,5})*$',
        description: 'FIREBREAK_ADMIN_PORTS (close-open-ports, audit-posture). Ports that must not be open to the internet.',
      }),
      AllowedCidrs: new CfnParameter(this, 'AllowedCidrs', {
        type: 'String', default: '',
        description: 'FIREBREAK_ALLOWED_CIDRS (close-open-ports). Comma-separated CIDRs (not /0) re-authorized on each closed port.',
      }),
      PortsMinSeverity: new CfnParameter(this, 'PortsMinSeverity', {
        type: 'Number', default: 0, minValue: 0, maxValue: 10,
        description: 'FIREBREAK_MIN_SEVERITY of close-open-ports. Its GuardDuty triggers below it are left alone (brute-force TARGET findings are severity 2).',
      }),
      AccessKeyMaxAgeDays: new CfnParameter(this, 'AccessKeyMaxAgeDays', {
        type: 'Number', default: 90, minValue: 0, maxValue: 3650,
        description: 'FIREBREAK_ACCESS_KEY_MAX_AGE_DAYS (audit-posture). Active access keys at least this old are a gap.',
      }),
      AccessKeyUnusedDays: new CfnParameter(this, 'AccessKeyUnusedDays', {
        type: 'Number', default: 90, minValue: 0, maxValue: 3650,
        description: 'FIREBREAK_ACCESS_KEY_UNUSED_DAYS (audit-posture). Active access keys unused for this long are a gap.',
      }),
      MemberRoleName: new CfnParameter(this, 'MemberRoleName', {
        type: 'String', default: 'FirebreakResponder', allowedPattern: '^[\\w+=,.@-]{1,64}$',
        description: 'FIREBREAK_MEMBER_ROLE_NAME (every function, each acting in member accounts through this role). Name of the role (infra/member-role.yaml) assumed in other accounts; the roles may assume only this name.',
      }),
      MemberExternalId: new CfnParameter(this, 'MemberExternalId', {
        type: 'String', default: '', noEcho: true, allowedPattern: '^$|^[\\w+=,.@:/-]{2,1224}$',
        description: 'FIREBREAK_EXTERNAL_ID (every function). The sts:ExternalId the member-account role requires (its ExternalId parameter).',
      }),
      AllowedAccounts: new CfnParameter(this, 'AllowedAccounts', {
        type: 'String', default: '', allowedPattern: '^$|^\\d{12}( *, *\\d{12})*$',
        description: 'FIREBREAK_ALLOWED_ACCOUNTS (every function). Comma-separated account ids Firebreak may act in besides its own; empty = any (also the accounts audit-posture audits, unless AuditOrganization).',
      }),
      AuditOrganization: flag(this, 'AuditOrganization', 'false', 'FIREBREAK_AUDIT_ORGANIZATION (audit-posture). "true" = audit every ACTIVE account of the organisation (Organizations ListAccounts, granted only then; deploy in the management or a delegated-administrator account), filtered by AllowedAccounts when set.'),
      SecurityHub: flag(this, 'SecurityHub', 'true', 'FIREBREAK_SECURITY_HUB (quarantine-instance, abuse-report). Update the originating Security Hub finding; import one for abuse notices and alarms. "true" also creates the Security Hub custom actions "Release", "Approve" and "Reject" (Security Hub must be enabled in this account and region).'),
      QuarantineOnBillingAlarm: flag(this, 'QuarantineOnBillingAlarm', 'false', 'FIREBREAK_QUARANTINE_ON_BILLING_ALARM (quarantine-instance, abuse-report). On a billing alarm, quarantine the instance with the most outbound traffic.'),
      TopTalkers: new CfnParameter(this, 'TopTalkers', {
        type: 'Number', default: 5, minValue: 1, maxValue: 50,
        description: 'FIREBREAK_TOP_TALKERS (quarantine-instance, abuse-report). Instances listed (by outbound traffic) for a billing alarm.',
      }),
      TrafficWindowHours: new CfnParameter(this, 'TrafficWindowHours', {
        type: 'Number', default: 3, minValue: 1, maxValue: 336,
        description: 'FIREBREAK_TRAFFIC_WINDOW_HOURS (quarantine-instance, abuse-report). How far back NetworkOut is summed to rank instances.',
      }),
      LogRetentionDays: new CfnParameter(this, 'LogRetentionDays', {
        type: 'Number', default: '365',
        allowedValues: ['30', '60', '90', '120', '150', '180', '365', '400', '545', '731', '1096', '1827', '2192', '2557', '2922', '3288', '3653'],
        description: "Days the functions' logs (every step of every case) are kept.",
      }),
      ReservedConcurrency: new CfnParameter(this, 'ReservedConcurrency', {
        type: 'Number', default: 10, minValue: 1,
        description: 'Reserved concurrency per function, so a burst of findings cannot starve (or be starved by) other Lambdas.',
      }),
      AlertEmail: new CfnParameter(this, 'AlertEmail', {
        type: 'String', default: '',
        description: 'Optional e-mail address subscribed to the alert topic (confirm the subscription mail).',
      }),
      TimeToContainmentThreshold: new CfnParameter(this, 'TimeToContainmentThreshold', {
        type: 'Number', default: 60, minValue: 1,
        description: "Seconds from a signal's own time to containment above which an alarm goes to the alert topic (docs/operations.md).",
      }),
      Canary: flag(this, 'Canary', 'false', 'Enables the canary\'s daily schedule. "true" = once a day, a GuardDuty sample finding in each account Firebreak may act in, and an alarm unless quarantine-instance reports it (docs/operations.md).'),
      DefaultMode: new CfnParameter(this, 'DefaultMode', {
        type: 'String', default: 'contain', allowedValues: ['contain', 'approve', 'observe'],
        description: 'FIREBREAK_DEFAULT_MODE (every acting function). The mode of signals no rule of the response policy matches (docs/response-policy.md); contain = act at once, as without a policy.',
      }),
      PolicyFile: new CfnParameter(this, 'PolicyFile', {
        type: 'String', default: '',
        description: "FIREBREAK_POLICY_FILE (every acting function). A response policy file in the package instead of the SSM parameter (the emulator's way); empty = the parameter ResponsePolicyParameter.",
      }),
      CanaryWaitSeconds: new CfnParameter(this, 'CanaryWaitSeconds', {
        type: 'Number', default: 600, minValue: 10, maxValue: 840,
        description: 'FIREBREAK_CANARY_WAIT_SECONDS (canary). How long the canary waits for the report of its sample finding.',
      }),
    };

    // Where an event goes after Lambda's own retries failed: nothing is dropped silently.
    const failedEvents = new sqs.Queue(this, 'FailedEventsQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(failedEvents).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter destination of the functions (Lambda on-failure destination).',
    });

    // The alert topic's key: a customer managed key, because CloudWatch alarms cannot publish to a
    // topic under the AWS managed aws/sns key (its policy cannot grant cloudwatch.amazonaws.com the
    // key). Used only through SNS: by the alarms, and by this account's /firebreak/ roles.
    const alertKey = new kms.Key(this, 'AlertKey', {
      description: 'Firebreak alert topic (CloudWatch alarms and the functions publish through SNS)',
      enableKeyRotation: true,
    });
    alertKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AlarmsPublishToTheTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
    }));
    alertKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'FirebreakRolesPublishThroughSns',
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'kms:CallerAccount': this.account, 'kms:ViaService': `sns.${this.region}.amazonaws.com` },
        ArnLike: { 'aws:PrincipalArn': `arn:${this.partition}:iam::${this.account}:role/firebreak/*` },
      },
    }));
    const alerts = new sns.Topic(this, 'AlertTopic', {
      displayName: 'Firebreak',
      masterKey: alertKey,
      enforceSSL: true,
    });
    const email = new sns.Subscription(this, 'AlertSubscription', {
      topic: alerts, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: p.AlertEmail.valueAsString,
    });
    const hasEmail = new CfnCondition(this, 'HasAlertEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(p.AlertEmail.valueAsString, '')),
    });
    (email.node.defaultChild as sns.CfnSubscription).cfnOptions.condition = hasEmail;
    // organizations:ListAccounts (audit-posture) is granted only when the organisation is audited.
    const auditsOrganization = new CfnCondition(this, 'AuditOrganizationEnabled', {
      expression: Fn.conditionEquals(p.AuditOrganization.valueAsString, 'true'),
    });
    // The forensic key's statements (functions/shared.ts) name it only when it is set.
    new CfnCondition(this, 'HasForensicKey', {
      expression: Fn.conditionNot(Fn.conditionEquals(p.ForensicKmsKey.valueAsString, '')),
    });
    // A schedule switched on by a Parameter (the canary's): the rule exists, enabled only then.
    const enabledBy: Record<string, CfnCondition> = {
      Canary: new CfnCondition(this, 'CanaryEnabled', { expression: Fn.conditionEquals(p.Canary.valueAsString, 'true') }),
    };

    // The case ledger (docs/cases.md): one item per case, every function's deliveries appended to
    // it, what release restores from. Kept when the stack is deleted or the table replaced, and
    // deletion protection refuses a DeleteTable by hand as well; point-in-time recovery undoes a
    // bad write. Encrypted with the AWS managed key (aws/dynamodb, like the topic's aws/sns): its
    // use is logged in CloudTrail, and the roles need no KMS permission for it.
    const cases = new dynamodb.Table(this, 'CasesTable', {
      partitionKey: { name: 'case_id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The custom action analysts choose in the Security Hub console (Findings -> Actions); the
    // release function's rule matches it by its id.
    const releaseAction = new securityhub.CfnActionTarget(this, 'ReleaseActionTarget', {
      id: 'Release',
      name: 'Release',
      description: 'Firebreak: undo the case (network, profile, load balancer, Auto Scaling group)',
    });
    releaseAction.cfnOptions.condition = new CfnCondition(this, 'SecurityHubEnabled', {
      expression: Fn.conditionEquals(p.SecurityHub.valueAsString, 'true'),
    });
    // Answers to a case pending approval (docs/response-policy.md), under the same condition.
    for (const [id, description] of [
      ['Approve', "Firebreak: approve the held plan of the finding's case; its function re-plans and acts"],
      ['Reject', "Firebreak: reject the held plan of the finding's case; closed, nothing changed"],
    ]) {
      const answer = new securityhub.CfnActionTarget(this, `${id}ActionTarget`, { id, name: id, description });
      answer.cfnOptions.condition = releaseAction.cfnOptions.condition;
    }

    // The response policy (docs/response-policy.md), read by every acting function at cold start.
    // This value keeps today's behaviour (no rules, every signal in DefaultMode); the SAM
    // template's comment has an example to adapt.
    const responsePolicy = new ssm.CfnParameter(this, 'ResponsePolicyParameter', {
      type: 'String',
      description: 'Firebreak response policy (JSON, docs/response-policy.md)',
      value: '{"rules": []}',
    });
    // approve_within: one one-time schedule per pending case, in this group, invoking the
    // function that holds the case as this role; the follow-ups of snapshots still pending use
    // the same group and role (docs/disk-evidence.md).
    const scheduleGroup = new scheduler.CfnScheduleGroup(this, 'ApprovalScheduleGroup', {});
    const schedulerRole = new iam.Role(this, 'ApprovalSchedulerRole', {
      path: '/firebreak/',
      description: 'EventBridge Scheduler invokes the function holding a case when approve_within runs out or pending snapshots are followed up.',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      inlinePolicies: {
        // The stack's own functions; a concrete list would make each function depend on this
        // role and this role on each function.
        invoke: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [`arn:${Aws.PARTITION}:lambda:${Aws.REGION}:${Aws.ACCOUNT_ID}:function:${Aws.STACK_NAME}-*`],
        })] }),
      },
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:<AWS::StackName>-*]`,
      reason: "The stack's functions by name prefix: naming each would make a dependency cycle through their FIREBREAK_SCHEDULER_ROLE_ARN.",
    });
    const actingRoles: iam.Role[] = [];

    // Besides Parameters, a variable may name one of these resources of the stack.
    const stackResources: Record<string, string> = {
      AlertTopic: alerts.topicArn,
      CasesTable: cases.tableName,
      ResponsePolicyParameter: responsePolicy.ref,
      ApprovalScheduleGroup: scheduleGroup.ref,
      ApprovalSchedulerRole: schedulerRole.roleArn,
    };
    const home: HomeResources = {
      memberRoleName: p.MemberRoleName.valueAsString,
      alertTopicArn: alerts.topicArn,
      casesTableArn: cases.tableArn,
      guardDutyRuleArns: [],
    };
    const guardDutyRuleNames: string[] = [];
    const built: Built[] = [];

    // Each function gets exactly the FIREBREAK_* variables its code reads (checked by the infra check).
    const environmentOf = (spec: FirebreakFunction): Record<string, string> => {
      const environment: Record<string, string> = { RUST_LOG: 'info' };
      for (const [variable, source] of Object.entries(spec.environment)) {
        if (source in p) environment[variable] = p[source as keyof typeof p].valueAsString;
        else if (source in stackResources) environment[variable] = stackResources[source];
        else throw new Error(`${spec.name}: ${variable} names an unknown Parameter or resource ${source}`);
      }
      return environment;
    };

    for (const spec of props.functions ?? FUNCTIONS) {
      const code = path.join(props.lambdaDir, spec.name);
      if (!fs.existsSync(path.join(code, 'bootstrap'))) {
        throw new Error(`${code}/bootstrap does not exist: run \`cargo lambda build --release --arm64\` at the workspace root first (or set FIREBREAK_LAMBDA_DIR)`);
      }
      const id = spec.name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
      const homeStatements = spec.homeStatements?.(home) ?? [];

      const logGroup = new logs.LogGroup(this, `${id}LogGroup`, { removalPolicy: RemovalPolicy.RETAIN });
      (logGroup.node.defaultChild as logs.CfnLogGroup).retentionInDays = p.LogRetentionDays.valueAsNumber;

      const role = new iam.Role(this, `${id}Role`, {
        path: '/firebreak/',
        description: `${spec.name}; exactly the calls in the code it runs (checked by scripts/infra-check.sh).`,
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        inlinePolicies: {
          remediation: new iam.PolicyDocument({ statements: spec.statements }),
          ...(homeStatements.length > 0 ? { respond: new iam.PolicyDocument({ statements: homeStatements }) } : {}),
        },
      });
      // The exemption tag key is a parameter and a policy key cannot be a token: this document is
      // a JSON string with the key substituted in by CloudFormation. (A function that changes
      // nothing, like audit-posture, has nothing to deny.)
      // A function that may schedule an approval timeout passes the scheduler role: never a role
      // carrying the exemption tag.
      const denied = 'FIREBREAK_POLICY_PARAMETER' in spec.environment && !spec.deniedOnExemptResources.includes('iam:PassRole')
        ? [...spec.deniedOnExemptResources, 'iam:PassRole']
        : spec.deniedOnExemptResources;
      const guard = denied.length === 0 ? undefined : new iam.CfnPolicy(this, `${id}ExemptionGuard`, {
        policyName: 'exemption-guard',
        roles: [role.roleName],
        policyDocument: Fn.sub(JSON.stringify({
          Version: '2012-10-17',
          Statement: [{
            Sid: 'NeverTouchExemptResources',
            Effect: 'Deny',
            Action: denied,
            Resource: '*',
            Condition: { Null: { 'aws:ResourceTag/${ExemptTagKey}': 'false' } },
          }],
        })),
      });
      logGroup.grantWrite(role);
      if ('FIREBREAK_POLICY_PARAMETER' in spec.environment) actingRoles.push(role);
      // A policy of its own so that CloudFormation creates it only under the Condition (the
      // inline policies above are unconditional).
      if (spec.organizationStatements?.length) {
        const organization = new iam.CfnPolicy(this, `${id}OrganizationPolicy`, {
          policyName: 'organization',
          roles: [role.roleName],
          policyDocument: new iam.PolicyDocument({ statements: spec.organizationStatements }),
        });
        organization.cfnOptions.condition = auditsOrganization;
        Validations.of(organization).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'organizations:ListAccounts supports no resource-level permission; it only reads, and is granted only when AuditOrganization is "true".',
        });
      }

      const fn: lambda.Function = new lambda.Function(this, `${id}Function`, {
        description: spec.description,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: 'bootstrap',
        code: lambda.Code.fromAsset(code),
        // One full vCPU: Lambda hands out CPU in proportion to memory, and the bootstrap's own
        // work (init ~7 ms, a remediation ~5 ms of CPU on a full core) would take about 7 times
        // longer at 256 MB. Billed only for the milliseconds used; RSS stays ~11 MiB.
        memorySize: 1769,
        timeout: Duration.seconds(spec.timeoutSeconds ?? 120),
        role,
        logGroup,
        environment: environmentOf(spec),
        reservedConcurrentExecutions: p.ReservedConcurrency.valueAsNumber,
        onFailure: new SqsDestination(failedEvents),
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      });
      if (guard) fn.node.addDependency(guard);
      Tags.of(fn).add('firebreak:function', spec.name);

      const rules: Built['rules'] = [];
      for (const [ruleId, eventPattern] of Object.entries(spec.rules)) {
        const rule = new events.Rule(this, `${id}${ruleId}`, { eventPattern, targets: [new targets.LambdaFunction(fn)] });
        rules.push({ ruleId, rule });
        // The rules the canary checks: those GuardDuty findings arrive by.
        if (eventPattern.source?.includes('aws.guardduty')) {
          home.guardDutyRuleArns.push(rule.ruleArn);
          guardDutyRuleNames.push(rule.ruleName);
          stackResources.GuardDutyRules = Fn.join(',', guardDutyRuleNames);
        }
      }
      for (const [ruleId, { ruleName, expression, enabledBy: parameter }] of Object.entries(spec.schedules ?? {})) {
        const rule = new events.Rule(this, `${id}${ruleId}`, { ruleName, schedule: events.Schedule.expression(expression), targets: [new targets.LambdaFunction(fn)] });
        if (parameter) {
          (rule.node.defaultChild as events.CfnRule).state = Fn.conditionIf(enabledBy[parameter].logicalId, 'ENABLED', 'DISABLED').toString();
        }
        rules.push({ ruleId, rule });
      }
      stackResources[`${id}LogGroup`] = logGroup.logGroupName;
      if (spec.name === 'quarantine-instance') home.reportsLogGroupArn = logGroup.logGroupArn;
      built.push({ spec, fn, logGroup, rules });

      // cdk-nag IAM5 (wildcards): each finding acknowledged one by one, with the reason.
      for (const resource of wildcardResources(this, [...spec.statements, ...homeStatements])) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason: resource === '*'
            ? 'Describe* calls and GetMetricData support no resource-level permissions; only read actions are allowed on "*".'
            : resource.includes(':iam::*:role/')
            ? 'The member account is only known from the signal at run time: sts:AssumeRole is allowed on the one role name (MemberRoleName) in any account, which trusts only /firebreak/ roles presenting the external id.'
            : 'The instance, interface, group, rule, target group, user, role or detector is only known from the signal at ' +
              'run time: scoped to the resource type in this account (and region), narrowed by tag conditions where AWS ' +
              'supports them, and mutating actions denied on resources carrying the exemption tag.',
        });
      }
      if (guard) {
        Validations.of(guard).acknowledge({
          id: 'CloudFormation-Validate::E3510',
          reason: 'A JSON string is a valid PolicyDocument for CloudFormation; it is a string so that the exemption tag key parameter can be substituted into a condition key.',
        });
      }
    }

    // What the response policy needs in every function that acts (approval::*): read the policy,
    // ask (SNS, the finding's note), schedule and unschedule the approve_within timeout.
    const approval = new iam.CfnPolicy(this, 'ApprovalPolicy', {
      policyName: 'response-policy',
      roles: actingRoles.map((role) => role.roleName),
      policyDocument: new iam.PolicyDocument({ statements: [
        new iam.PolicyStatement({
          sid: 'ReadResponsePolicy',
          actions: ['ssm:GetParameter'],
          resources: [`arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter/${responsePolicy.ref}`],
        }),
        new iam.PolicyStatement({ sid: 'AskForApproval', actions: ['sns:Publish'], resources: [alerts.topicArn] }),
        new iam.PolicyStatement({
          sid: 'NoteFindingPendingApproval',
          actions: ['securityhub:BatchUpdateFindings'],
          resources: [`arn:${Aws.PARTITION}:securityhub:${Aws.REGION}:${Aws.ACCOUNT_ID}:hub/default`],
        }),
        new iam.PolicyStatement({
          sid: 'ScheduleApprovalTimeout',
          actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
          resources: [`arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/${scheduleGroup.ref}/*`],
        }),
        new iam.PolicyStatement({
          sid: 'PassSchedulerRole',
          actions: ['iam:PassRole'],
          resources: [schedulerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      ] }),
    });
    Validations.of(approval).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<ApprovalScheduleGroup>/*]`,
      reason: 'A schedule per pending case, named after the case, only in Firebreak\'s own schedule group.',
    });

    // Security Hub "Approve" / "Reject" reach release, which forwards the answer to the function
    // holding the case: exactly this stack's acting functions.
    const release = built.find((b) => b.spec.name === 'release');
    const acting = built.filter((b) => 'FIREBREAK_POLICY_PARAMETER' in b.spec.environment);
    if (release?.fn.role && acting.length > 0) {
      new iam.CfnPolicy(this, 'ReleaseAnswerPolicy', {
        policyName: 'answer-held-cases',
        roles: [release.fn.role.roleName],
        policyDocument: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({
          sid: 'AnswerHeldCases',
          actions: ['lambda:InvokeFunction'],
          resources: acting.map((b) => b.fn.functionArn),
        })] }),
      });
    }

    // Firebreak watches itself: alarms on the alert topic and the dashboard (docs/operations.md).
    watch(this, { built, failedEvents, alerts, threshold: p.TimeToContainmentThreshold, canaryEnabled: enabledBy.Canary });
  }
}

/** The wildcard resources of `statements` as cdk-nag names them (`arn:<AWS::Partition>:ec2:...`). */
function wildcardResources(stack: Stack, statements: iam.PolicyStatement[]): string[] {
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = value as Record<string, unknown>;
    if (v.Ref) return `<${v.Ref}>`;
    if (v['Fn::GetAtt']) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
    if (v['Fn::Join']) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    // A resource named only when a Parameter is set (the forensic key): either branch.
    if (v['Fn::If']) {
      const [, whenTrue, whenFalse] = v['Fn::If'] as [string, unknown, unknown];
      return `${render(whenTrue)}|${render(whenFalse)}`;
    }
    throw new Error(`cannot render ${JSON.stringify(value)}`);
  };
  const found = new Set<string>();
  for (const statement of statements) {
    for (const resource of statement.resources) {
      const rendered = render(stack.resolve(resource));
      if (rendered.includes('*')) found.add(rendered);
    }
  }
  return [...found];
}
