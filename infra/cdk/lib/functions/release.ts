// Undoing a case, and the canary that proves the chain works.

import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Aws } from 'aws-cdk-lib';
import { FirebreakFunction, HomeResources, ACCOUNTS_ENVIRONMENT, ASSUME_MEMBER_ROLE, QUARANTINE_ENVIRONMENT, WRITE_CASES, arn, ec2, iamArn } from './shared';

export const RELEASE_FUNCTIONS: FirebreakFunction[] = [
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
