// Every Firebreak Lambda: its binary (the crate in functions/), its EventBridge triggers and
// exactly the IAM statements for the AWS calls its code makes. infra/sam/template.yaml deploys
// the same; scripts/infra-check.sh checks both against the code and the sample events.
//
// Adding a function: append an entry here (name = the crate name), copy its SAM block, file
// its sample events under events/<name>/.

import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Aws } from 'aws-cdk-lib';

export interface FirebreakFunction {
  /** The crate and binary name in functions/. */
  readonly name: string;
  readonly description: string;
  /** EventBridge rules on the default bus, by construct id. */
  readonly rules: Record<string, events.EventPattern>;
  /** Schedule expressions ("rate(1 day)"), by construct id. */
  readonly schedules?: Record<string, string>;
  /** Allow statements: exactly the calls the code makes, scoped as far as AWS allows. */
  readonly statements: iam.PolicyStatement[];
  /** Mutating actions denied on any resource carrying the exemption tag key. */
  readonly deniedOnExemptResources: string[];
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>` in this stack's account and region. */
export const arn = (service: string, resource: string, account: string = Aws.ACCOUNT_ID): string =>
  `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${account}:${resource}`;

const ec2 = (resource: string): string => arn('ec2', resource);
const snapshots = arn('ec2', 'snapshot/*', '');
const FIREBREAK_GROUP_ROLES = ['isolation', 'untracking'];

export const FUNCTIONS: FirebreakFunction[] = [
  {
    name: 'quarantine-instance',
    description: 'GuardDuty EC2 finding (instance compromised) -> isolate, preserve evidence, report.',
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
    },
    statements: [
      new iam.PolicyStatement({
        sid: 'Read',
        actions: [
          'ec2:DescribeInstances',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeInstanceAttribute',
          'ec2:DescribeIamInstanceProfileAssociations',
          'ec2:DescribeSnapshots',
          'ec2:DescribeSecurityGroups',
          'autoscaling:DescribeAutoScalingInstances',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeTargetHealth',
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
    ],
    deniedOnExemptResources: [
      'ec2:CreateSecurityGroup',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:ModifyNetworkInterfaceAttribute',
      'ec2:ModifyInstanceAttribute',
      'ec2:DisassociateIamInstanceProfile',
      'ec2:StopInstances',
      'ec2:CreateSnapshots',
      'ec2:DeleteSnapshot',
      'ec2:CreateTags',
      'autoscaling:DetachInstances',
      'elasticloadbalancing:DeregisterTargets',
    ],
  },
];
