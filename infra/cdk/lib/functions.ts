// Every Firebreak Lambda: its binary (the crate in functions/), its EventBridge triggers and
// exactly the IAM statements for the AWS calls its code makes. infra/sam/template.yaml deploys
// the same; scripts/infra-check.sh checks both against the code and the sample events.
//
// Adding a function: append an entry here (name = the crate name), copy its SAM block, file
// its sample events under events/<name>/.

import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Aws, Fn } from 'aws-cdk-lib';

export interface FirebreakFunction {
  /** The crate and binary name in functions/. */
  readonly name: string;
  readonly description: string;
  /** EventBridge rules on the default bus, by construct id. */
  readonly rules: Record<string, events.EventPattern>;
  /**
   * Scheduled rules, by construct id. The rule name is fixed: a scheduled event names its rule in
   * `resources`, which is how its samples (and the infra check) tell one schedule from another.
   */
  readonly schedules?: Record<string, { readonly ruleName: string; readonly expression: string; readonly enabledBy?: string }>;
  /** Exactly the FIREBREAK_* variables its code reads, each set from the stack Parameter named. */
  readonly environment: Record<string, string>;
  /** Seconds; default 120. */
  readonly timeoutSeconds?: number;
  /** Allow statements: exactly the calls the code makes, scoped as far as AWS allows. */
  readonly statements: iam.PolicyStatement[];
  /** Statements on resources of the stack itself (its Parameters, its topic): the `respond` policy. */
  readonly homeStatements?: (home: HomeResources) => iam.PolicyStatement[];
  /**
   * Granted only when the AuditOrganization Parameter is "true": a separate `organization`
   * policy under that Condition.
   */
  readonly organizationStatements?: iam.PolicyStatement[];
  /** Mutating actions denied on any resource carrying the exemption tag key. */
  readonly deniedOnExemptResources: string[];
}

/** What a function's statements may name from the stack itself. */
export interface HomeResources {
  /** The MemberRoleName Parameter: the one role name assumed in other accounts. */
  readonly memberRoleName: string;
  /** The alert topic. */
  readonly alertTopicArn: string;
  /** The case ledger (the CasesTable). */
  readonly casesTableArn: string;
  /** The rules GuardDuty findings reach the functions by (filled as the functions are built). */
  readonly guardDutyRuleArns: string[];
  /** quarantine-instance's log group (filled once it is built), where the canary reads reports. */
  reportsLogGroupArn?: string;
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>` in this stack's account and region. */
export const arn = (service: string, resource: string, account: string = Aws.ACCOUNT_ID): string =>
  `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${account}:${resource}`;

const ec2 = (resource: string): string => arn('ec2', resource);
const snapshots = arn('ec2', 'snapshot/*', '');
const iamArn = (resource: string): string => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:${resource}`;
const FIREBREAK_GROUP_ROLES = ['isolation', 'untracking'];

/**
 * Disk evidence (docs/disk-evidence.md): the case's snapshots copied encrypted with the forensic
 * key and shared with the forensic account, a GuardDuty malware scan. The stack's ForensicKmsKey
 * and ForensicAccount Parameters and its HasForensicKey Condition (stack.ts) scope them.
 */
const DISK_EVIDENCE_STATEMENTS = (): iam.PolicyStatement[] => {
  const forensicKey = Fn.conditionIf('HasForensicKey', Fn.ref('ForensicKmsKey'), arn('kms', 'key/not-configured')).toString();
  return [
    // Forensic copies of the case's snapshots, each tagged with its source when created.
    new iam.PolicyStatement({
      sid: 'CopySnapshotsTaggedWithTheirSource',
      actions: ['ec2:CopySnapshot'],
      resources: [snapshots],
      conditions: { Null: { 'aws:RequestTag/firebreak:source-snapshot': 'false' } },
    }),
    // Only Firebreak's copies, and only with the forensic account (never a group: never public).
    new iam.PolicyStatement({
      sid: 'ShareOnlyFirebreakCopiesWithTheForensicAccount',
      actions: ['ec2:ModifySnapshotAttribute'],
      resources: [snapshots],
      conditions: {
        Null: { 'aws:ResourceTag/firebreak:source-snapshot': 'false' },
        StringEquals: { 'ec2:Add/userId': Fn.ref('ForensicAccount') },
      },
    }),
    // Only a duplicate copy a retried CopySnapshot made: never a snapshot without Firebreak's source tag.
    new iam.PolicyStatement({
      sid: 'DeleteOnlyFirebreakDuplicateCopies',
      actions: ['ec2:DeleteSnapshot'],
      resources: [snapshots],
      conditions: { Null: { 'aws:ResourceTag/firebreak:source-snapshot': 'false' } },
    }),
    // What EC2 needs of the caller to encrypt a copy with a customer managed key (EBS user guide,
    // "Requirements for Amazon EBS encryption"); that key only.
    new iam.PolicyStatement({
      sid: 'EncryptCopiesWithTheForensicKey',
      actions: ['kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
      resources: [forensicKey],
    }),
    new iam.PolicyStatement({
      sid: 'LetEc2UseTheForensicKey',
      actions: ['kms:CreateGrant'],
      resources: [forensicKey],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': true } },
    }),
    // StartMalwareScan has no resource type; the scan creates GuardDuty's Malware Protection
    // service-linked role when it does not exist yet.
    new iam.PolicyStatement({ sid: 'StartMalwareScans', actions: ['guardduty:StartMalwareScan'], resources: ['*'] }),
    new iam.PolicyStatement({
      sid: 'CreateMalwareProtectionServiceLinkedRole',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [iamArn('role/aws-service-role/malware-protection.guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDutyMalwareProtection')],
      conditions: { StringEquals: { 'iam:AWSServiceName': 'malware-protection.guardduty.amazonaws.com' } },
    }),
  ];
};
/** AssociateIamInstanceProfile and ReplaceIamInstanceProfileAssociation pass the profile's role to
 * EC2. Only to EC2 and only for an instance of this account: a role EC2 receives is an
 * instance-profile role, so no other role can be handed to any other service with this grant. */
const PASS_INSTANCE_PROFILE_ROLES = new iam.PolicyStatement({
  sid: 'PassInstanceProfileRolesToInstancesOnly',
  actions: ['iam:PassRole'],
  resources: [iamArn('role/*')],
  conditions: {
    StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    ArnLike: { 'iam:AssociatedResourceArn': `arn:${Aws.PARTITION}:ec2:*:${Aws.ACCOUNT_ID}:instance/*` },
  },
});

/** What quarantining an instance calls: quarantine-instance, and revoke-credentials for the exfiltrating instance. */
const QUARANTINE_STATEMENTS = (readSid: string): iam.PolicyStatement[] => [
  new iam.PolicyStatement({
    sid: readSid,
    actions: [
      'ec2:DescribeInstances',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeInstanceAttribute',
      'ec2:DescribeIamInstanceProfileAssociations',
      'ec2:DescribeSnapshots',
      'ec2:DescribeSnapshotAttribute',
      'ec2:DescribeSecurityGroups',
      'autoscaling:DescribeAutoScalingInstances',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetHealth',
      'ec2:DescribeVpcEndpoints',
      'ec2:GetConsoleOutput',
      'ec2:GetConsoleScreenshot',
      'ssm:DescribeInstanceInformation',
      'ssm:ListCommands',
    ],
    resources: ['*'],
  }),
  new iam.PolicyStatement({
    sid: 'CreateIsolationGroupsOnlyTaggedAsFirebreaks',
    actions: ['ec2:CreateSecurityGroup'],
    resources: [ec2('security-group/*')],
    conditions: { StringEquals: { 'aws:RequestTag/firebreak:role': FIREBREAK_GROUP_ROLES } },
  }),
  new iam.PolicyStatement({
    sid: 'CreateIsolationGroupsInAnyVpc',
    actions: ['ec2:CreateSecurityGroup'],
    resources: [ec2('vpc/*')],
  }),
  new iam.PolicyStatement({
    sid: 'ChangeRulesOfFirebreakGroupsOnly',
    actions: [
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
    ],
    resources: [ec2('security-group/*')],
    conditions: { StringEquals: { 'aws:ResourceTag/firebreak:role': FIREBREAK_GROUP_ROLES } },
  }),
  new iam.PolicyStatement({
    sid: 'MoveInterfacesIntoIsolation',
    actions: ['ec2:ModifyNetworkInterfaceAttribute'],
    resources: ['network-interface/*', 'security-group/*', 'instance/*', 'subnet/*', 'vpc/*'].map(ec2),
  }),
  new iam.PolicyStatement({
    sid: 'ContainInstances',
    actions: ['ec2:ModifyInstanceAttribute', 'ec2:DisassociateIamInstanceProfile', 'ec2:StopInstances'],
    resources: [ec2('instance/*')],
  }),
  // docs/performance.md, the burst: an instance's only ENI may be moved by ModifyInstanceAttribute
  // GroupId.N too, which names the groups it puts on the instance.
  new iam.PolicyStatement({
    sid: 'MoveSoleInterfacesThroughTheirInstance',
    actions: ['ec2:ModifyInstanceAttribute'],
    resources: [ec2('security-group/*')],
  }),
  // docs/evidence.md: the forensic profile in place of the instance's own. EC2 checks iam:PassRole
  // on its role: only to EC2, only for an instance of this account.
  new iam.PolicyStatement({
    sid: 'PutTheForensicProfileInPlace',
    actions: ['ec2:ReplaceIamInstanceProfileAssociation', 'ec2:AssociateIamInstanceProfile'],
    resources: [ec2('instance/*')],
  }),
  PASS_INSTANCE_PROFILE_ROLES,
  new iam.PolicyStatement({
    sid: 'SendOnlyTheEvidenceDocument',
    actions: ['ssm:SendCommand'],
    resources: [arn('ssm', `document/${Fn.ref('EvidenceDocument')}`), ec2('instance/*')],
  }),
  // Written once (If-None-Match): never read, overwritten or deleted.
  new iam.PolicyStatement({
    sid: 'WriteEvidence',
    actions: ['s3:PutObject'],
    // Under this account's instances' prefixes (<instance ARN>/<case>/, docs/evidence.md).
    resources: [`arn:${Aws.PARTITION}:s3:::${Fn.ref('EvidenceBucket')}/arn:${Aws.PARTITION}:ec2:*:${Aws.ACCOUNT_ID}:instance/*`],
  }),
  new iam.PolicyStatement({
    sid: 'SnapshotVolumes',
    actions: ['ec2:CreateSnapshots'],
    resources: [ec2('instance/*'), ec2('volume/*')],
  }),
  new iam.PolicyStatement({
    sid: 'SnapshotsOnlyTaggedWithTheirCase',
    actions: ['ec2:CreateSnapshots'],
    resources: [snapshots],
    conditions: { Null: { 'aws:RequestTag/firebreak:case': 'false' } },
  }),
  // Only to remove a duplicate set Firebreak itself just made (racing deliveries, a retried
  // CreateSnapshots): never a snapshot without Firebreak's set tag.
  new iam.PolicyStatement({
    sid: 'DeleteOnlyFirebreakDuplicateSnapshots',
    actions: ['ec2:DeleteSnapshot'],
    resources: [snapshots],
    conditions: { Null: { 'aws:ResourceTag/firebreak:snapshot-set': 'false' } },
  }),
  ...DISK_EVIDENCE_STATEMENTS(),
  new iam.PolicyStatement({
    sid: 'WriteFirebreakTagsOnly',
    actions: ['ec2:CreateTags'],
    resources: [ec2('instance/*'), ec2('network-interface/*'), ec2('security-group/*'), snapshots],
    conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*', 'Name'] } },
  }),
  new iam.PolicyStatement({
    sid: 'DetachFromAutoScalingGroups',
    actions: ['autoscaling:DetachInstances'],
    resources: [arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*')],
  }),
  new iam.PolicyStatement({
    sid: 'DeregisterFromTargetGroups',
    actions: ['elasticloadbalancing:DeregisterTargets'],
    resources: [arn('elasticloadbalancing', 'targetgroup/*/*')],
  }),
];

const QUARANTINE_DENIED_ON_EXEMPT = [
  'ec2:CreateSecurityGroup',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:AuthorizeSecurityGroupEgress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupEgress',
  'ec2:ModifyNetworkInterfaceAttribute',
  'ec2:ModifyInstanceAttribute',
  'ec2:DisassociateIamInstanceProfile',
  'ec2:ReplaceIamInstanceProfileAssociation',
  'ec2:AssociateIamInstanceProfile',
  'iam:PassRole',
  'ec2:StopInstances',
  'ec2:CreateSnapshots',
  'ec2:DeleteSnapshot',
  'ec2:CopySnapshot',
  'ec2:ModifySnapshotAttribute',
  'iam:CreateServiceLinkedRole',
  'ec2:CreateTags',
  'autoscaling:DetachInstances',
  'elasticloadbalancing:DeregisterTargets',
];

/** Every function: another account is acted in only through its member role, by the configured name. */
const ASSUME_MEMBER_ROLE = (home: HomeResources): iam.PolicyStatement =>
  new iam.PolicyStatement({
    sid: 'AssumeMemberRole',
    actions: ['sts:AssumeRole'],
    resources: [`arn:${Aws.PARTITION}:iam::*:role/${home.memberRoleName}`],
  });

/** Every function that opens cases: its cases, in this account's ledger, whatever account the signal concerns. */
const WRITE_CASES = (home: HomeResources): iam.PolicyStatement =>
  new iam.PolicyStatement({
    sid: 'WriteCases',
    actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
    resources: [home.casesTableArn],
  });

/**
 * The calls a response makes in this (the security) account whatever account the signal
 * concerns: quarantine-instance and abuse-report.
 */
const RESPOND_STATEMENTS = (home: HomeResources): iam.PolicyStatement[] => [
  ASSUME_MEMBER_ROLE(home),
  WRITE_CASES(home),
  new iam.PolicyStatement({
    sid: 'PublishSummaries',
    actions: ['sns:Publish'],
    resources: [home.alertTopicArn],
  }),
  // Findings of every member account are updated through this (administrator) hub.
  new iam.PolicyStatement({
    sid: 'UpdateOriginatingFindings',
    actions: ['securityhub:BatchUpdateFindings'],
    resources: [arn('securityhub', 'hub/default')],
  }),
  // An incident that is not a finding (abuse notice, alarm) in this account becomes a finding of
  // this account's own default product, nothing else.
  new iam.PolicyStatement({
    sid: 'ImportIncidentsAsOwnFindings',
    actions: ['securityhub:BatchImportFindings'],
    resources: [arn('securityhub', `product/${Aws.ACCOUNT_ID}/default`)],
  }),
];

/** Where a function may act: every function builds the same account/region client provider (`accounts::Accounts`). */
const ACCOUNTS_ENVIRONMENT = {
  FIREBREAK_MEMBER_ROLE_NAME: 'MemberRoleName',
  FIREBREAK_EXTERNAL_ID: 'MemberExternalId',
  FIREBREAK_ALLOWED_ACCOUNTS: 'AllowedAccounts',
  // Every function reads the common settings, the ledger's name among them (audit-posture opens
  // no case: it has no grant on the table).
  FIREBREAK_CASES_TABLE: 'CasesTable',
};

/** What any response reads: where to act, whom to tell, and the abuse settings (`respond::Settings`). */
const RESPOND_ENVIRONMENT = {
  ...ACCOUNTS_ENVIRONMENT,
  FIREBREAK_SNS_TOPIC_ARN: 'AlertTopic',
  FIREBREAK_SECURITY_HUB: 'SecurityHub',
  FIREBREAK_QUARANTINE_ON_BILLING_ALARM: 'QuarantineOnBillingAlarm',
  FIREBREAK_TOP_TALKERS: 'TopTalkers',
  FIREBREAK_TRAFFIC_WINDOW_HOURS: 'TrafficWindowHours',
};

/**
 * Every function that acts: the response policy (`approval::Approvals`) — where it is, the mode
 * no rule matches, where approval requests go, and the approve_within schedules.
 */
export const APPROVAL_ENVIRONMENT = {
  FIREBREAK_POLICY_PARAMETER: 'ResponsePolicyParameter',
  FIREBREAK_POLICY_FILE: 'PolicyFile',
  FIREBREAK_DEFAULT_MODE: 'DefaultMode',
  FIREBREAK_SCHEDULE_GROUP: 'ApprovalScheduleGroup',
  FIREBREAK_SCHEDULER_ROLE_ARN: 'ApprovalSchedulerRole',
  FIREBREAK_SNS_TOPIC_ARN: 'AlertTopic',
  FIREBREAK_SECURITY_HUB: 'SecurityHub',
};

const QUARANTINE_ENVIRONMENT = {
  FIREBREAK_DRY_RUN: 'DryRun',
  FIREBREAK_MIN_SEVERITY: 'MinSeverity',
  FIREBREAK_EXEMPT_TAG_KEY: 'ExemptTagKey',
  FIREBREAK_ISOLATION_GROUP_NAME: 'IsolationGroupName',
  FIREBREAK_STOP_INSTANCE: 'StopInstance',
  FIREBREAK_SNAPSHOT: 'Snapshot',
  FIREBREAK_ACT_ON_SAMPLE_FINDINGS: 'ActOnSampleFindings',
  FIREBREAK_CUT_TRACKED_CONNECTIONS: 'CutTrackedConnections',
  FIREBREAK_FORENSIC_INSTANCE_PROFILE: 'ForensicInstanceProfile',
  FIREBREAK_ISOLATION_ALLOW_SSM_ENDPOINTS: 'IsolationAllowSsmEndpoints',
  FIREBREAK_EVIDENCE_BUCKET: 'EvidenceBucket',
  FIREBREAK_EVIDENCE_DOCUMENT: 'EvidenceDocument',
};

/** Read by the functions that quarantine instances (not quarantine-task, not release). */
const DISK_EVIDENCE_ENVIRONMENT = {
  FIREBREAK_FORENSIC_KMS_KEY: 'ForensicKmsKey',
  FIREBREAK_FORENSIC_ACCOUNT: 'ForensicAccount',
  FIREBREAK_MALWARE_SCAN: 'MalwareScan',
  FIREBREAK_EVIDENCE_FOLLOWUP_MINUTES: 'EvidenceFollowupMinutes',
};

export const FUNCTIONS: FirebreakFunction[] = [
  {
    name: 'quarantine-instance',
    description: 'GuardDuty EC2 finding (native or through Security Hub) or the Quarantine action -> isolate, preserve evidence, report.',
    rules: {
      // ACTOR: the instance did the bad thing. Some EC2 finding types carry no role at all;
      // TARGET (attacked, not compromised) belongs to close-open-ports.
      GuardDutyInstanceCompromised: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          resource: { resourceType: ['Instance'] },
          $or: [{ service: { resourceRole: ['ACTOR'] } }, { service: { resourceRole: [{ exists: false }] } }],
        },
      },
      // Extended Threat Detection: an attack sequence across EC2 instances (an Auto Scaling
      // group's, say). Its resource is only {resourceType: AttackSequence}; the instances are
      // listed under service.detection.sequence.resources.
      GuardDutyAttackSequenceEc2: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          type: [{ prefix: 'AttackSequence:EC2/' }],
          resource: { resourceType: ['AttackSequence'] },
        },
      },
      // An attack sequence in an ECS or EKS cluster: the EC2 nodes it names are quarantined (its
      // tasks go to quarantine-task; the cluster and its workloads are named in the report).
      GuardDutyAttackSequenceClusterNodes: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          type: [{ prefix: 'AttackSequence:ECS/' }, { prefix: 'AttackSequence:EKS/' }],
          resource: { resourceType: ['AttackSequence'] },
          service: {
            detection: { sequence: { resources: { resourceType: ['EC2_INSTANCE', 'AUTOSCALING_AUTO_SCALING_GROUP'] } } },
          },
        },
      },
      // The same GuardDuty EC2 findings through Security Hub (often from member accounts), not yet
      // worked: the update Firebreak writes back is re-published as an import, and skipped here.
      SecurityHubGuardDutyInstanceFinding: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Imported'],
        detail: {
          findings: {
            ProductArn: [{ suffix: '::product/aws/guardduty' }],
            Resources: { Type: ['AwsEc2Instance'] },
            RecordState: ['ACTIVE'],
            Workflow: { Status: ['NEW'] },
          },
        },
      },
      // The same through Security Hub (v2), whose findings are OCSF: status New, not being closed.
      SecurityHubV2GuardDutyInstanceFinding: {
        source: ['aws.securityhub'],
        detailType: ['Findings Imported V2'],
        detail: {
          findings: {
            metadata: { product: { name: ['GuardDuty'] } },
            resources: { type: ['AWS::EC2::Instance'] },
            status: ['New'],
            activity_name: [{ 'anything-but': 'Close' }],
          },
        },
      },
      // An analyst chose "Quarantine" on selected findings.
      SecurityHubQuarantineAction: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Custom Action'],
        detail: {
          actionName: [
            { 'equals-ignore-case': 'Quarantine' },
            { 'equals-ignore-case': 'Quarantine instance' },
            { 'equals-ignore-case': 'QuarantineInstance' },
          ],
        },
      },
    },
    environment: { ...APPROVAL_ENVIRONMENT, ...QUARANTINE_ENVIRONMENT, ...DISK_EVIDENCE_ENVIRONMENT, ...RESPOND_ENVIRONMENT },
    statements: QUARANTINE_STATEMENTS('Read'),
    homeStatements: RESPOND_STATEMENTS,
    deniedOnExemptResources: QUARANTINE_DENIED_ON_EXEMPT,
  },
  {
    name: 'quarantine-task',
    description: 'GuardDuty Runtime Monitoring finding on an ECS task or an ECS attack sequence -> each task\'s ENI isolated, task protected and tagged, report.',
    rules: {
      // Runtime Monitoring on ECS (EC2 or Fargate): the finding names the task. Only those that
      // name it (anything else would be an error and a retried event).
      GuardDutyRuntimeTaskFinding: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          resource: {
            resourceType: ['ECSCluster', 'Container'],
            ecsClusterDetails: { taskDetails: { arn: [{ exists: true }] } },
          },
        },
      },
      // Extended Threat Detection in an ECS cluster: every ECS_TASK it names (its EC2 nodes go to
      // quarantine-instance, its access keys to revoke-credentials).
      GuardDutyAttackSequenceEcsTasks: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          type: [{ prefix: 'AttackSequence:ECS/' }],
          resource: { resourceType: ['AttackSequence'] },
          service: { detection: { sequence: { resources: { resourceType: ['ECS_TASK'] } } } },
        },
      },
      // Runtime Monitoring on ECS and ECS attack sequences through Security Hub (v2): the task.
      SecurityHubV2GuardDutyEcsTaskFinding: {
        source: ['aws.securityhub'],
        detailType: ['Findings Imported V2'],
        detail: {
          findings: {
            metadata: { product: { name: ['GuardDuty'] } },
            resources: { type: ['AWS::ECS::Task'] },
            status: ['New'],
            activity_name: [{ 'anything-but': 'Close' }],
          },
        },
      },
    },
    // The quarantine's settings (TaskConfig embeds QuarantineConfig: StopInstance and Snapshot are
    // read, and change nothing for a task), and its own.
    environment: { ...APPROVAL_ENVIRONMENT, ...QUARANTINE_ENVIRONMENT, ...ACCOUNTS_ENVIRONMENT, FIREBREAK_STOP_TASK: 'StopTask' },
    homeStatements: (home: HomeResources) => [ASSUME_MEMBER_ROLE(home), WRITE_CASES(home)],
    statements: [
      // Describe calls and DescribeTaskDefinition support no resource-level permissions.
      new iam.PolicyStatement({
        sid: 'Read',
        actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups', 'ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTasks',
        actions: ['ecs:DescribeTasks', 'ecs:GetTaskProtection'],
        resources: [arn('ecs', 'task/*')],
      }),
      new iam.PolicyStatement({
        sid: 'ReadClusters',
        actions: ['ecs:DescribeClusters'],
        resources: [arn('ecs', 'cluster/*')],
      }),
      // The task's ENI goes through the quarantine's isolation groups, as an instance's does.
      ...QUARANTINE_STATEMENTS('Read').filter((s) =>
        ['CreateIsolationGroupsOnlyTaggedAsFirebreaks', 'CreateIsolationGroupsInAnyVpc', 'ChangeRulesOfFirebreakGroupsOnly', 'MoveInterfacesIntoIsolation']
          .includes(s.sid ?? '')),
      // The isolation steps are the quarantine's own: they may move an instance's only ENI through
      // ModifyInstanceAttribute GroupId.N (docs/performance.md, the burst); a task's ENI never is one.
      new iam.PolicyStatement({
        sid: 'MoveSoleInterfacesThroughTheirInstance',
        actions: ['ec2:ModifyInstanceAttribute'],
        resources: [ec2('instance/*'), ec2('security-group/*')],
      }),
      // The ENI's original groups (recorded before the move), the groups' names and roles.
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnly',
        actions: ['ec2:CreateTags'],
        resources: [ec2('network-interface/*'), ec2('security-group/*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*', 'Name'] } },
      }),
      // Scale-in protection (a service would replace and stop the task), the case's tags, and a
      // stop only when StopTask is "true".
      new iam.PolicyStatement({
        sid: 'ContainTasks',
        actions: ['ecs:UpdateTaskProtection', 'ecs:StopTask'],
        resources: [arn('ecs', 'task/*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnTasks',
        actions: ['ecs:TagResource'],
        resources: [arn('ecs', 'task/*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
    ],
    // A cluster's exemption tag is checked by the code only: IAM sees the task's tags, not its cluster's.
    deniedOnExemptResources: [
      'ec2:CreateSecurityGroup',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:ModifyNetworkInterfaceAttribute',
      'ec2:ModifyInstanceAttribute',
      'ec2:CreateTags',
      'ecs:UpdateTaskProtection',
      'ecs:TagResource',
      'ecs:StopTask',
    ],
  },
  {
    name: 'revoke-credentials',
    description: 'GuardDuty access-key finding or AWS Health credential exposure -> disable keys, revoke sessions, report.',
    rules: {
      GuardDutyCredentialsCompromised: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: { resource: { resourceType: ['AccessKey'] } },
      },
      // Extended Threat Detection: an attack sequence of compromised IAM credentials or S3 data
      // names its access keys and actors; revoke them all, in one case.
      GuardDutyAttackSequenceCredentials: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          type: [{ prefix: 'AttackSequence:IAM/' }, { prefix: 'AttackSequence:S3/' }],
          resource: { resourceType: ['AttackSequence'] },
        },
      },
      // A sequence across instances or containers that names access keys or the instance profile
      // its instances share: that profile role's sessions are revoked (the instances themselves go
      // to quarantine-instance).
      GuardDutyAttackSequenceSharedCredentials: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          type: [{ prefix: 'AttackSequence:EC2/' }, { prefix: 'AttackSequence:ECS/' }, { prefix: 'AttackSequence:EKS/' }],
          resource: { resourceType: ['AttackSequence'] },
          service: { detection: { sequence: { resources: { resourceType: ['ACCESS_KEY', 'IAM_INSTANCE_PROFILE'] } } } },
        },
      },
      HealthCredentialsExposed: {
        source: ['aws.health'],
        detailType: ['AWS Health Event'],
        detail: { eventTypeCode: [{ prefix: 'AWS_RISK_CREDENTIALS_' }] },
      },
      // GuardDuty access-key findings through Security Hub (v2, OCSF), status New, not being closed.
      // Only the IAMUser types (GuardDuty's own AccessKey findings): an S3 or ECS finding naming
      // the caller's key too is about the bucket or task, as its native resource type says.
      SecurityHubV2GuardDutyAccessKeyFinding: {
        source: ['aws.securityhub'],
        detailType: ['Findings Imported V2'],
        detail: {
          findings: {
            metadata: { product: { name: ['GuardDuty'] } },
            finding_info: { types: [{ wildcard: '*IAMUser*' }] },
            resources: { type: ['AWS::IAM::AccessKey'] },
            status: ['New'],
            activity_name: [{ 'anything-but': 'Close' }],
          },
        },
      },
      // IAM and S3 attack sequences through Security Hub (v2): their keys and actors.
      SecurityHubV2GuardDutyAttackSequenceCredentials: {
        source: ['aws.securityhub'],
        detailType: ['Findings Imported V2'],
        detail: {
          findings: {
            metadata: { product: { name: ['GuardDuty'] } },
            finding_info: { types: [{ prefix: 'AttackSequence:IAM/' }, { prefix: 'AttackSequence:S3/' }] },
            status: ['New'],
            activity_name: [{ 'anything-but': 'Close' }],
          },
        },
      },
      // EC2, ECS and EKS attack sequences through Security Hub (v2) naming keys or a shared
      // instance profile (their instances go to quarantine-instance).
      SecurityHubV2GuardDutyAttackSequenceSharedCredentials: {
        source: ['aws.securityhub'],
        detailType: ['Findings Imported V2'],
        detail: {
          findings: {
            metadata: { product: { name: ['GuardDuty'] } },
            finding_info: {
              types: [
                { prefix: 'AttackSequence:EC2/' },
                { prefix: 'AttackSequence:ECS/' },
                { prefix: 'AttackSequence:EKS/' },
              ],
            },
            resources: { type: ['AWS::IAM::AccessKey', 'AWS::IAM::InstanceProfile'] },
            status: ['New'],
            activity_name: [{ 'anything-but': 'Close' }],
          },
        },
      },
      // An analyst chose "Revoke credentials" on selected access-key findings.
      SecurityHubRevokeAction: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Custom Action'],
        detail: {
          actionName: [{ 'equals-ignore-case': 'Revoke credentials' }, { 'equals-ignore-case': 'RevokeCredentials' }],
        },
      },
    },
    environment: {
      ...APPROVAL_ENVIRONMENT,
      ...QUARANTINE_ENVIRONMENT,
      ...DISK_EVIDENCE_ENVIRONMENT,
      ...ACCOUNTS_ENVIRONMENT,
      FIREBREAK_DEACTIVATE_ALL_KEYS: 'DeactivateAllKeys',
      FIREBREAK_DELETE_LOGIN_PROFILE: 'DeleteLoginProfile',
      FIREBREAK_PROTECTED_PRINCIPALS: 'ProtectedPrincipals',
      FIREBREAK_QUARANTINE_SOURCE_INSTANCE: 'QuarantineSourceInstance',
      FIREBREAK_SNS_TOPIC_ARN: 'AlertTopic',
    },
    // Root and federated findings need a human: they, and every revocation, go to the alert topic.
    homeStatements: (home: HomeResources) => [
      ASSUME_MEMBER_ROLE(home),
      WRITE_CASES(home),
      new iam.PolicyStatement({ sid: 'PublishSummaries', actions: ['sns:Publish'], resources: [home.alertTopicArn] }),
    ],
    statements: [
      new iam.PolicyStatement({
        sid: 'ReadUsers',
        actions: [
          'iam:GetAccessKeyLastUsed',
          'iam:GetUser',
          'iam:ListUserTags',
          'iam:ListAccessKeys',
          'iam:GetLoginProfile',
          'iam:GetUserPolicy',
        ],
        resources: [iamArn('user/*')],
      }),
      new iam.PolicyStatement({
        sid: 'ReadRoles',
        actions: ['iam:GetRole', 'iam:ListRoleTags', 'iam:GetRolePolicy'],
        resources: [iamArn('role/*')],
      }),
      // An attack sequence names an instance profile shared by its instances: its role.
      new iam.PolicyStatement({
        sid: 'ReadInstanceProfiles',
        actions: ['iam:GetInstanceProfile'],
        resources: [iamArn('instance-profile/*')],
      }),
      // Disable keys (never delete them: evidence), attach the session-revocation policy, and
      // remove the console password when configured to.
      new iam.PolicyStatement({
        sid: 'RevokeUserCredentials',
        actions: ['iam:UpdateAccessKey', 'iam:PutUserPolicy', 'iam:DeleteLoginProfile'],
        resources: [iamArn('user/*')],
      }),
      new iam.PolicyStatement({
        sid: 'RevokeRoleSessions',
        actions: ['iam:PutRolePolicy'],
        resources: [iamArn('role/*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnPrincipals',
        actions: ['iam:TagUser', 'iam:TagRole'],
        resources: [iamArn('user/*'), iamArn('role/*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
      // The code never revokes its own identity; this makes IAM refuse it too: no Firebreak role
      // (path /firebreak/) can be locked out or re-tagged by a forged signal.
      new iam.PolicyStatement({
        sid: 'NeverTouchFirebreakRoles',
        effect: iam.Effect.DENY,
        actions: ['iam:PutRolePolicy', 'iam:TagRole'],
        resources: [iamArn('role/firebreak/*')],
      }),
      // The exfiltrating instance goes through the same quarantine as quarantine-instance.
      ...QUARANTINE_STATEMENTS('ReadForQuarantine'),
    ],
    deniedOnExemptResources: [
      ...QUARANTINE_DENIED_ON_EXEMPT,
      'iam:UpdateAccessKey',
      'iam:PutUserPolicy',
      'iam:DeleteLoginProfile',
      'iam:TagUser',
      'iam:PutRolePolicy',
      'iam:TagRole',
    ],
  },
  {
    name: 'contain-bucket',
    description: 'GuardDuty S3 finding or S3 attack sequence -> bucket policy deny merged in, public access blocked, report.',
    rules: {
      // S3 Protection findings about buckets (exfiltration, anomalous deletes, discovery...).
      GuardDutyS3Bucket: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: { resource: { resourceType: ['S3Bucket'] } },
      },
      // Extended Threat Detection: a data compromise sequence; its buckets are in
      // service.detection.sequence.resources (its principals go to revoke-credentials).
      GuardDutyAttackSequenceS3: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          type: [{ prefix: 'AttackSequence:S3/' }],
          resource: { resourceType: ['AttackSequence'] },
        },
      },
      // The same through Security Hub (v2), whose findings are OCSF: status New, not being closed.
      SecurityHubV2GuardDutyS3Finding: {
        source: ['aws.securityhub'],
        detailType: ['Findings Imported V2'],
        detail: {
          findings: {
            metadata: { product: { name: ['GuardDuty'] } },
            resources: { type: ['AWS::S3::Bucket'] },
            status: ['New'],
            activity_name: [{ 'anything-but': 'Close' }],
          },
        },
      },
    },
    environment: {
      ...APPROVAL_ENVIRONMENT,
      FIREBREAK_DRY_RUN: 'DryRun',
      FIREBREAK_MIN_SEVERITY: 'MinSeverity',
      FIREBREAK_EXEMPT_TAG_KEY: 'ExemptTagKey',
      FIREBREAK_ACT_ON_SAMPLE_FINDINGS: 'ActOnSampleFindings',
      FIREBREAK_S3_BREAKGLASS_ROLES: 'S3BreakglassRoles',
      ...ACCOUNTS_ENVIRONMENT,
    },
    statements: [
      // Buckets only (bucket ARNs, no object): nothing here reads or deletes an object. S3
      // bucket actions take no aws:ResourceTag condition: the code reads each bucket's tags and
      // never touches one carrying the exemption key.
      new iam.PolicyStatement({
        sid: 'ReadBuckets',
        actions: ['s3:GetBucketTagging', 's3:GetBucketPolicy', 's3:GetBucketPublicAccessBlock'],
        resources: [`arn:${Aws.PARTITION}:s3:::*`],
      }),
      new iam.PolicyStatement({
        sid: 'ContainBuckets',
        actions: ['s3:PutBucketTagging', 's3:PutBucketPolicy', 's3:PutBucketPublicAccessBlock'],
        resources: [`arn:${Aws.PARTITION}:s3:::*`],
      }),
    ],
    homeStatements: (home: HomeResources) => [ASSUME_MEMBER_ROLE(home), WRITE_CASES(home)],
    deniedOnExemptResources: [],
  },
  {
    name: 'contain-lambda',
    description: 'GuardDuty Lambda Protection finding -> reserved concurrency 0 (previous recorded), role sessions revoked, report.',
    rules: {
      GuardDutyLambdaFinding: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: { resource: { resourceType: ['Lambda'] } },
      },
      // The same through Security Hub (v2), whose findings are OCSF: status New, not being closed.
      SecurityHubV2GuardDutyLambdaFinding: {
        source: ['aws.securityhub'],
        detailType: ['Findings Imported V2'],
        detail: {
          findings: {
            metadata: { product: { name: ['GuardDuty'] } },
            resources: { type: ['AWS::Lambda::Function'] },
            status: ['New'],
            activity_name: [{ 'anything-but': 'Close' }],
          },
        },
      },
    },
    environment: {
      ...APPROVAL_ENVIRONMENT,
      ...ACCOUNTS_ENVIRONMENT,
      FIREBREAK_DRY_RUN: 'DryRun',
      FIREBREAK_MIN_SEVERITY: 'MinSeverity',
      FIREBREAK_EXEMPT_TAG_KEY: 'ExemptTagKey',
      FIREBREAK_ACT_ON_SAMPLE_FINDINGS: 'ActOnSampleFindings',
    },
    homeStatements: (home: HomeResources) => [ASSUME_MEMBER_ROLE(home), WRITE_CASES(home)],
    statements: [
      new iam.PolicyStatement({
        sid: 'ReadFunctions',
        actions: ['lambda:GetFunction', 'lambda:GetFunctionConcurrency'],
        resources: [arn('lambda', 'function:*')],
      }),
      // Reserved concurrency 0 stops every invocation; nothing is deleted.
      new iam.PolicyStatement({
        sid: 'StopFunctions',
        actions: ['lambda:PutFunctionConcurrency'],
        resources: [arn('lambda', 'function:*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnFunctions',
        actions: ['lambda:TagResource'],
        resources: [arn('lambda', 'function:*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadRoles',
        actions: ['iam:GetRole', 'iam:ListRoleTags', 'iam:GetRolePolicy'],
        resources: [iamArn('role/*')],
      }),
      new iam.PolicyStatement({
        sid: 'RevokeRoleSessions',
        actions: ['iam:PutRolePolicy'],
        resources: [iamArn('role/*')],
      }),
      // The code never revokes a /firebreak/ role; this makes IAM refuse it too.
      new iam.PolicyStatement({
        sid: 'NeverTouchFirebreakRoles',
        effect: iam.Effect.DENY,
        actions: ['iam:PutRolePolicy'],
        resources: [iamArn('role/firebreak/*')],
      }),
    ],
    deniedOnExemptResources: ['lambda:PutFunctionConcurrency', 'lambda:TagResource', 'iam:PutRolePolicy'],
  },
  {
    name: 'close-open-ports',
    description: 'GuardDuty probe/brute-force finding, security group change or schedule -> revoke world-open admin ports, report.',
    rules: {
      // TARGET: the instance was probed or brute-forced from the internet (attacked, not compromised).
      GuardDutyPortsAttacked: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        detail: {
          type: ['Recon:EC2/PortProbeUnprotectedPort', 'UnauthorizedAccess:EC2/SSHBruteForce', 'UnauthorizedAccess:EC2/RDPBruteForce'],
          resource: { resourceType: ['Instance'] },
          service: { resourceRole: ['TARGET'] },
        },
      },
      SecurityGroupOpened: {
        source: ['aws.ec2'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['ec2.amazonaws.com'],
          eventName: ['AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules', 'CreateSecurityGroup'],
        },
      },
    },
    schedules: { Sweep: { ruleName: 'firebreak-close-open-ports-sweep', expression: 'rate(1 hour)' } },
    environment: {
      ...APPROVAL_ENVIRONMENT,
      FIREBREAK_DRY_RUN: 'DryRun',
      FIREBREAK_MIN_SEVERITY: 'PortsMinSeverity',
      FIREBREAK_EXEMPT_TAG_KEY: 'ExemptTagKey',
      FIREBREAK_ACT_ON_SAMPLE_FINDINGS: 'ActOnSampleFindings',
      FIREBREAK_ADMIN_PORTS: 'AdminPorts',
      FIREBREAK_ALLOWED_CIDRS: 'AllowedCidrs',
      ...ACCOUNTS_ENVIRONMENT,
    },
    statements: [
      new iam.PolicyStatement({
        sid: 'Read',
        actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSecurityGroupRules'],
        resources: ['*'],
      }),
      // Revoke the world-open rules by rule id; re-authorize the port for the allowed CIDRs.
      new iam.PolicyStatement({
        sid: 'ChangeIngressRules',
        actions: ['ec2:RevokeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupIngress'],
        resources: [ec2('security-group/*'), ec2('security-group-rule/*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnly',
        actions: ['ec2:CreateTags'],
        resources: [ec2('security-group/*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
      // The untracking group is open to all traffic by design: the code skips Firebreak's own
      // groups, and IAM refuses to let this function change them.
      new iam.PolicyStatement({
        sid: 'NeverTouchFirebreakGroups',
        effect: iam.Effect.DENY,
        actions: ['ec2:RevokeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:CreateTags'],
        resources: ['*'],
        conditions: { Null: { 'aws:ResourceTag/firebreak:role': 'false' } },
      }),
    ],
    homeStatements: (home: HomeResources) => [ASSUME_MEMBER_ROLE(home), WRITE_CASES(home)],
    deniedOnExemptResources: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress', 'ec2:CreateTags'],
  },
  {
    name: 'audit-posture',
    description: 'Schedule -> check each account it may act in against the hardening list, report each gap as a Security Hub finding of that account.',
    rules: {},
    schedules: { Daily: { ruleName: 'firebreak-audit-posture-daily', expression: 'rate(1 day)' } },
    timeoutSeconds: 300,
    environment: {
      FIREBREAK_DRY_RUN: 'DryRun',
      FIREBREAK_MIN_SEVERITY: 'MinSeverity',
      FIREBREAK_EXEMPT_TAG_KEY: 'ExemptTagKey',
      FIREBREAK_ACT_ON_SAMPLE_FINDINGS: 'ActOnSampleFindings',
      FIREBREAK_ADMIN_PORTS: 'AdminPorts',
      FIREBREAK_ACCESS_KEY_MAX_AGE_DAYS: 'AccessKeyMaxAgeDays',
      FIREBREAK_ACCESS_KEY_UNUSED_DAYS: 'AccessKeyUnusedDays',
      FIREBREAK_AUDIT_ORGANIZATION: 'AuditOrganization',
      ...ACCOUNTS_ENVIRONMENT,
    },
    statements: [
      // Describe/List calls without resource-level permissions.
      new iam.PolicyStatement({
        sid: 'Read',
        actions: [
          'guardduty:ListDetectors',
          'cloudtrail:DescribeTrails',
          'cloudtrail:GetTrailStatus',
          'cloudwatch:DescribeAlarms',
          'iam:GetAccountSummary',
          'iam:ListUsers',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSecurityGroupRules',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadDetectors',
        actions: ['guardduty:GetDetector'],
        resources: [arn('guardduty', 'detector/*')],
      }),
      new iam.PolicyStatement({
        sid: 'ReadUsers',
        actions: ['iam:GetLoginProfile', 'iam:ListMFADevices', 'iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed'],
        resources: [iamArn('user/*')],
      }),
      new iam.PolicyStatement({
        sid: 'ReadOwnFindings',
        actions: ['securityhub:GetFindings'],
        resources: [arn('securityhub', 'hub/default')],
      }),
      // Gaps are imported as findings of this account's own default product, nothing else.
      new iam.PolicyStatement({
        sid: 'ImportGapsAsOwnFindings',
        actions: ['securityhub:BatchImportFindings'],
        resources: [arn('securityhub', `product/${Aws.ACCOUNT_ID}/default`)],
      }),
    ],
    homeStatements: (home: HomeResources) => [ASSUME_MEMBER_ROLE(home)],
    // Which accounts to audit. ListAccounts supports no resource-level permission, and only reads;
    // it is called with this role, never through a member role (it answers only in the management
    // or a delegated-administrator account).
    organizationStatements: [
      new iam.PolicyStatement({ sid: 'ListOrganizationAccounts', actions: ['organizations:ListAccounts'], resources: ['*'] }),
    ],
    deniedOnExemptResources: [],
  },
  {
    name: 'abuse-report',
    description: 'AWS Health abuse notice or outbound-traffic/billing alarm -> find the instance, quarantine it, report.',
    rules: {
      // AWS's abuse team: a resource of the account was reported (DoS, spam, scanning, ...).
      HealthAbuseEvent: {
        source: ['aws.health'],
        detailType: ['AWS Health Abuse Event'],
      },
      HealthAbuseNotice: {
        source: ['aws.health'],
        detailType: ['AWS Health Event'],
        detail: { eventTypeCode: [{ prefix: 'AWS_ABUSE_' }], eventTypeCategory: ['issue'] },
      },
      // Only the alarms the code acts on (anything else would be an error and a retried event).
      TrafficOrBillingAlarm: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: {
          state: { value: ['ALARM'] },
          configuration: { metrics: { metricStat: { metric: { name: ['NetworkOut', 'NetworkPacketsOut', 'EstimatedCharges'] } } } },
        },
      },
    },
    environment: { ...APPROVAL_ENVIRONMENT, ...QUARANTINE_ENVIRONMENT, ...DISK_EVIDENCE_ENVIRONMENT, ...RESPOND_ENVIRONMENT },
    statements: [
      // Which instance holds the reported address; which instances sent the most (no resource-level permissions).
      new iam.PolicyStatement({
        sid: 'FindInstances',
        actions: ['ec2:DescribeAddresses', 'cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
      ...QUARANTINE_STATEMENTS('Read'),
    ],
    homeStatements: RESPOND_STATEMENTS,
    deniedOnExemptResources: QUARANTINE_DENIED_ON_EXEMPT,
  },
  {
    name: 'release',
    description: 'Security Hub action "Release" or a direct invocation -> put back what a case changed, from the case ledger; report. "Approve" / "Reject" -> forwarded to the function holding the case.',
    rules: {
      // An analyst chose "Release" on selected Firebreak or GuardDuty findings: the action the
      // stack creates (ReleaseActionTarget), by its id (its name can be edited in the console,
      // its id cannot).
      SecurityHubReleaseAction: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Custom Action'],
        resources: events.Match.suffix(':action/custom/Release'),
      },
      // "Approve" / "Reject" on a finding whose case waits for approval: release forwards the
      // answer to the function holding the case (docs/response-policy.md).
      SecurityHubApproveAction: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Custom Action'],
        resources: events.Match.suffix(':action/custom/Approve'),
      },
      SecurityHubRejectAction: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Custom Action'],
        resources: events.Match.suffix(':action/custom/Reject'),
      },
    },
    environment: { ...QUARANTINE_ENVIRONMENT, ...ACCOUNTS_ENVIRONMENT },
    // Puts back what a case of this account changed (docs/release.md). Never deletes anything but
    // Firebreak's own deny policies: snapshots and tags stay.
    statements: [
      new iam.PolicyStatement({
        sid: 'Read',
        actions: [
          'ec2:DescribeInstances',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeIamInstanceProfileAssociations',
          'ec2:DescribeSecurityGroups',
          'autoscaling:DescribeAutoScalingInstances',
        ],
        resources: ['*'],
      }),
      // Each ENI back from the isolation group to the groups the case recorded.
      new iam.PolicyStatement({
        sid: 'RestoreInterfaceGroups',
        actions: ['ec2:ModifyNetworkInterfaceAttribute'],
        resources: ['network-interface/*', 'security-group/*', 'instance/*', 'subnet/*', 'vpc/*'].map(ec2),
      }),
      // The instance profile again, termination protection and shutdown behaviour as before.
      new iam.PolicyStatement({
        sid: 'RestoreInstances',
        actions: [
          'ec2:AssociateIamInstanceProfile',
          'ec2:ReplaceIamInstanceProfileAssociation',
          'ec2:DisassociateIamInstanceProfile',
          'ec2:ModifyInstanceAttribute',
        ],
        resources: [ec2('instance/*')],
      }),
      // AssociateIamInstanceProfile passes the profile's role to EC2. Only to EC2 and only for an
      // instance of this account: a role EC2 receives is an instance-profile role, so no other
      // role can be handed to any other service with this grant.
      new iam.PolicyStatement({
        sid: 'PassInstanceProfileRolesToInstancesOnly',
        actions: ['iam:PassRole'],
        resources: [iamArn('role/*')],
        conditions: {
          StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' },
          ArnLike: { 'iam:AssociatedResourceArn': `arn:${Aws.PARTITION}:ec2:*:${Aws.ACCOUNT_ID}:instance/*` },
        },
      }),
      // The rules close-open-ports revoked, on whichever group they were.
      new iam.PolicyStatement({
        sid: 'ReauthorizeRevokedRules',
        actions: ['ec2:AuthorizeSecurityGroupIngress'],
        resources: [ec2('security-group/*')],
      }),
      // Firebreak's isolation groups stay closed: no release can open one.
      new iam.PolicyStatement({
        sid: 'NeverOpenFirebreakGroups',
        effect: iam.Effect.DENY,
        actions: ['ec2:AuthorizeSecurityGroupIngress'],
        resources: ['*'],
        conditions: { Null: { 'aws:ResourceTag/firebreak:role': 'false' } },
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnly',
        actions: ['ec2:CreateTags'],
        resources: [ec2('instance/*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
      new iam.PolicyStatement({
        sid: 'RegisterInTargetGroups',
        actions: ['elasticloadbalancing:RegisterTargets'],
        resources: [arn('elasticloadbalancing', 'targetgroup/*/*')],
      }),
      // A contained bucket: its public access block and policy back as the case recorded them
      // (Firebreak's statement taken out), the bucket tagged released. No object.
      new iam.PolicyStatement({
        sid: 'ReadContainedBuckets',
        actions: ['s3:GetBucketTagging', 's3:GetBucketPolicy', 's3:GetBucketPublicAccessBlock'],
        resources: [`arn:${Aws.PARTITION}:s3:::*`],
      }),
      new iam.PolicyStatement({
        sid: 'RestoreContainedBuckets',
        actions: ['s3:PutBucketPublicAccessBlock', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:PutBucketTagging'],
        resources: [`arn:${Aws.PARTITION}:s3:::*`],
      }),
      new iam.PolicyStatement({
        sid: 'AttachToAutoScalingGroups',
        actions: ['autoscaling:AttachInstances'],
        resources: [arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*')],
      }),
      // An ECS task's scale-in protection, off again where the case recorded Firebreak's; the
      // task tagged released.
      new iam.PolicyStatement({
        sid: 'UnprotectTasks',
        actions: ['ecs:DescribeTasks', 'ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
        resources: [arn('ecs', 'task/*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnTasks',
        actions: ['ecs:TagResource'],
        resources: [arn('ecs', 'task/*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
      // Only with "credentials": true. IAM has no condition key for an inline policy's name: the
      // code deletes only Firebreak's (firebreak-revoke-older-sessions, firebreak-deny-instance-*),
      // the ones the case recorded.
      new iam.PolicyStatement({
        sid: 'RestoreUserCredentials',
        actions: ['iam:DeleteUserPolicy', 'iam:UpdateAccessKey'],
        resources: [iamArn('user/*')],
      }),
      new iam.PolicyStatement({
        sid: 'RestoreRoleSessions',
        actions: ['iam:DeleteRolePolicy'],
        resources: [iamArn('role/*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnPrincipals',
        actions: ['iam:TagUser', 'iam:TagRole'],
        resources: [iamArn('user/*'), iamArn('role/*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
      // A contained Lambda function: its reserved concurrency as before the case, tagged released.
      new iam.PolicyStatement({
        sid: 'RestoreFunctionConcurrency',
        actions: [
          'lambda:GetFunction',
          'lambda:GetFunctionConcurrency',
          'lambda:PutFunctionConcurrency',
          'lambda:DeleteFunctionConcurrency',
        ],
        resources: [arn('lambda', 'function:*')],
      }),
      new iam.PolicyStatement({
        sid: 'WriteFirebreakTagsOnFunctions',
        actions: ['lambda:TagResource'],
        resources: [arn('lambda', 'function:*')],
        conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } },
      }),
      // No Firebreak role (path /firebreak/) loses a policy, is re-tagged or is handed to an
      // instance through a forged case.
      new iam.PolicyStatement({
        sid: 'NeverTouchFirebreakRoles',
        effect: iam.Effect.DENY,
        actions: ['iam:DeleteRolePolicy', 'iam:TagRole', 'iam:PassRole'],
        resources: [iamArn('role/firebreak/*')],
      }),
    ],
    // Read the case, mark it released.
    homeStatements: (home: HomeResources) => [ASSUME_MEMBER_ROLE(home), WRITE_CASES(home)],
    deniedOnExemptResources: [
      'ec2:ModifyNetworkInterfaceAttribute',
      'ec2:AssociateIamInstanceProfile',
      'ec2:ReplaceIamInstanceProfileAssociation',
      'ec2:DisassociateIamInstanceProfile',
      'ec2:ModifyInstanceAttribute',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:CreateTags',
      'elasticloadbalancing:RegisterTargets',
      'autoscaling:AttachInstances',
      'iam:PassRole',
      'iam:DeleteUserPolicy',
      'iam:DeleteRolePolicy',
      'iam:UpdateAccessKey',
      'iam:TagUser',
      'iam:TagRole',
      'lambda:PutFunctionConcurrency',
      'lambda:DeleteFunctionConcurrency',
      'lambda:TagResource',
    ],
  },
  {
    name: 'canary',
    description: 'Daily (Canary "true") -> a GuardDuty sample finding in each account, the detector and rules checked, quarantine-instance\'s report of it awaited.',
    rules: {},
    // Off unless Canary is "true": the rule exists, disabled.
    schedules: { Daily: { ruleName: 'firebreak-canary-daily', expression: 'rate(1 day)', enabledBy: 'Canary' } },
    timeoutSeconds: 900,
    environment: {
      FIREBREAK_CANARY_LOG_GROUP: 'QuarantineInstanceLogGroup',
      FIREBREAK_CANARY_RULES: 'GuardDutyRules',
      FIREBREAK_CANARY_WAIT_SECONDS: 'CanaryWaitSeconds',
      FIREBREAK_AUDIT_ORGANIZATION: 'AuditOrganization',
      FIREBREAK_MEMBER_ROLE_NAME: 'MemberRoleName',
      FIREBREAK_EXTERNAL_ID: 'MemberExternalId',
      FIREBREAK_ALLOWED_ACCOUNTS: 'AllowedAccounts',
    },
    statements: [
      // ListDetectors supports no resource-level permission.
      new iam.PolicyStatement({ sid: 'ListDetectors', actions: ['guardduty:ListDetectors'], resources: ['*'] }),
      // A sample finding is marked as a sample: Firebreak skips it, nothing is touched.
      new iam.PolicyStatement({
        sid: 'DetectorStateAndSamples',
        actions: ['guardduty:GetDetector', 'guardduty:CreateSampleFindings'],
        resources: [arn('guardduty', 'detector/*')],
      }),
    ],
    homeStatements: (home: HomeResources) => [
      ASSUME_MEMBER_ROLE(home),
      new iam.PolicyStatement({ sid: 'ReadFirebreakRules', actions: ['events:DescribeRule'], resources: [...home.guardDutyRuleArns] }),
      // The report of its sample finding: quarantine-instance's metric line.
      new iam.PolicyStatement({
        sid: 'ReadQuarantineInstanceReports',
        actions: ['logs:FilterLogEvents'],
        resources: [home.reportsLogGroupArn ?? 'quarantine-instance must come before canary'],
      }),
    ],
    organizationStatements: [
      new iam.PolicyStatement({ sid: 'ListOrganizationAccounts', actions: ['organizations:ListAccounts'], resources: ['*'] }),
    ],
    deniedOnExemptResources: [],
  },
];
