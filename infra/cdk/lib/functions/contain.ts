// The functions that contain an instance, a task or credentials.

import * as iam from 'aws-cdk-lib/aws-iam';
import { FirebreakFunction, HomeResources, ACCOUNTS_ENVIRONMENT, APPROVAL_ENVIRONMENT, ASSUME_MEMBER_ROLE, DISK_EVIDENCE_ENVIRONMENT, QUARANTINE_DENIED_ON_EXEMPT, QUARANTINE_ENVIRONMENT, QUARANTINE_STATEMENTS, RESPOND_ENVIRONMENT, RESPOND_STATEMENTS, WRITE_CASES, arn, ec2, iamArn } from './shared';

export const CONTAIN_FUNCTIONS: FirebreakFunction[] = [
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
];
