// What the functions' definitions share: the shape of one (FirebreakFunction), the stack's
// resources they name (HomeResources), and the statements and environment variables several of
// them have in common. The functions themselves: contain.ts, respond.ts, release.ts.

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

export const ec2 = (resource: string): string => arn('ec2', resource);
export const snapshots = arn('ec2', 'snapshot/*', '');
export const iamArn = (resource: string): string => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:${resource}`;
export const FIREBREAK_GROUP_ROLES = ['isolation', 'untracking'];

/**
 * Disk evidence (docs/disk-evidence.md): the case's snapshots copied encrypted with the forensic
 * key and shared with the forensic account, a GuardDuty malware scan. The stack's ForensicKmsKey
 * and ForensicAccount Parameters and its HasForensicKey Condition (stack.ts) scope them.
 */
export const DISK_EVIDENCE_STATEMENTS = (): iam.PolicyStatement[] => {
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
export const PASS_INSTANCE_PROFILE_ROLES = new iam.PolicyStatement({
  sid: 'PassInstanceProfileRolesToInstancesOnly',
  actions: ['iam:PassRole'],
  resources: [iamArn('role/*')],
  conditions: {
    StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    ArnLike: { 'iam:AssociatedResourceArn': `arn:${Aws.PARTITION}:ec2:*:${Aws.ACCOUNT_ID}:instance/*` },
  },
});

/** What quarantining an instance calls: quarantine-instance, and revoke-credentials for the exfiltrating instance. */
export const QUARANTINE_STATEMENTS = (readSid: string): iam.PolicyStatement[] => [
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

export const QUARANTINE_DENIED_ON_EXEMPT = [
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
export const ASSUME_MEMBER_ROLE = (home: HomeResources): iam.PolicyStatement =>
  new iam.PolicyStatement({
    sid: 'AssumeMemberRole',
    actions: ['sts:AssumeRole'],
    resources: [`arn:${Aws.PARTITION}:iam::*:role/${home.memberRoleName}`],
  });

/** Every function that opens cases: its cases, in this account's ledger, whatever account the signal concerns. */
export const WRITE_CASES = (home: HomeResources): iam.PolicyStatement =>
  new iam.PolicyStatement({
    sid: 'WriteCases',
    actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
    resources: [home.casesTableArn],
  });

/**
 * The calls a response makes in this (the security) account whatever account the signal
 * concerns: quarantine-instance and abuse-report.
 */
export const RESPOND_STATEMENTS = (home: HomeResources): iam.PolicyStatement[] => [
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
export const ACCOUNTS_ENVIRONMENT = {
  FIREBREAK_MEMBER_ROLE_NAME: 'MemberRoleName',
  FIREBREAK_EXTERNAL_ID: 'MemberExternalId',
  FIREBREAK_ALLOWED_ACCOUNTS: 'AllowedAccounts',
  // Every function reads the common settings, the ledger's name among them (audit-posture opens
  // no case: it has no grant on the table).
  FIREBREAK_CASES_TABLE: 'CasesTable',
};

/** What any response reads: where to act, whom to tell, and the abuse settings (`respond::Settings`). */
export const RESPOND_ENVIRONMENT = {
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

export const QUARANTINE_ENVIRONMENT = {
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
export const DISK_EVIDENCE_ENVIRONMENT = {
  FIREBREAK_FORENSIC_KMS_KEY: 'ForensicKmsKey',
  FIREBREAK_FORENSIC_ACCOUNT: 'ForensicAccount',
  FIREBREAK_MALWARE_SCAN: 'MalwareScan',
  FIREBREAK_EVIDENCE_FOLLOWUP_MINUTES: 'EvidenceFollowupMinutes',
};
