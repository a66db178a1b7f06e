// A bucket, a Lambda function, open ports, the account's posture, an abuse report.

import * as iam from 'aws-cdk-lib/aws-iam';
import { Aws } from 'aws-cdk-lib';
import { FirebreakFunction, HomeResources, ACCOUNTS_ENVIRONMENT, APPROVAL_ENVIRONMENT, ASSUME_MEMBER_ROLE, DISK_EVIDENCE_ENVIRONMENT, QUARANTINE_DENIED_ON_EXEMPT, QUARANTINE_ENVIRONMENT, QUARANTINE_STATEMENTS, RESPOND_ENVIRONMENT, RESPOND_STATEMENTS, WRITE_CASES, arn, ec2, iamArn } from './shared';

export const RESPOND_FUNCTIONS: FirebreakFunction[] = [
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
];
