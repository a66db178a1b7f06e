// Unit tests of the synthesised stack (aws-cdk-lib/assertions), run with node's test runner.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FUNCTIONS } from '../lib/functions';
import { FirebreakStack } from '../lib/stack';

// Placeholder binaries: the tests check the stack, not the Rust build.
const lambdaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'firebreak-lambda-'));
for (const spec of FUNCTIONS) {
  fs.mkdirSync(path.join(lambdaDir, spec.name), { recursive: true });
  fs.writeFileSync(path.join(lambdaDir, spec.name, 'bootstrap'), '');
}

const synth = (): Template => Template.fromStack(new FirebreakStack(new App(), 'Firebreak', { lambdaDir }));

test('every function runs the Rust binary on provided.al2023 arm64 with reserved concurrency', () => {
  const template = synth();
  template.resourceCountIs('AWS::Lambda::Function', FUNCTIONS.length);
  for (const spec of FUNCTIONS) {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      ReservedConcurrentExecutions: { Ref: 'ReservedConcurrency' },
      Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: spec.name }]),
      // The canary changes nothing and reads no dry-run setting.
      ...(spec.environment.FIREBREAK_DRY_RUN ? { Environment: { Variables: Match.objectLike({ FIREBREAK_DRY_RUN: { Ref: 'DryRun' } }) } } : {}),
    });
  }
});

test('a first deploy is a dry run', () => {
  synth().hasParameter('DryRun', { Type: 'String', Default: 'true', AllowedValues: ['true', 'false'] });
});

test('failed async invocations are retried, then land in the SQS queue', () => {
  const template = synth();
  const queues = template.findResources('AWS::SQS::Queue');
  assert.equal(Object.keys(queues).length, 1);
  const queue = Object.keys(queues)[0];
  template.resourceCountIs('AWS::Lambda::EventInvokeConfig', FUNCTIONS.length);
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumRetryAttempts: 2,
    MaximumEventAgeInSeconds: 3600,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
  });
});

test('logs are kept for the configured number of days', () => {
  synth().allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: { Ref: 'LogRetentionDays' } });
});

test('quarantine-instance hears GuardDuty findings about a compromised instance, not an attacked one', () => {
  synth().hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      detail: {
        resource: { resourceType: ['Instance'] },
        $or: [{ service: { resourceRole: ['ACTOR'] } }, { service: { resourceRole: [{ exists: false }] } }],
      },
    },
  });
});

test('revoke-credentials hears GuardDuty access-key findings and AWS Health credential exposure notices', () => {
  const template = synth();
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { source: ['aws.guardduty'], 'detail-type': ['GuardDuty Finding'], detail: { resource: { resourceType: ['AccessKey'] } } },
  });
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { source: ['aws.health'], 'detail-type': ['AWS Health Event'], detail: { eventTypeCode: [{ prefix: 'AWS_RISK_CREDENTIALS_' }] } },
  });
});

test('close-open-ports hears attacked instances, security group changes and its hourly sweep; audit-posture runs daily', () => {
  const template = synth();
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: Match.objectLike({ source: ['aws.guardduty'], detail: Match.objectLike({ service: { resourceRole: ['TARGET'] } }) }),
  });
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: Match.objectLike({ source: ['aws.ec2'], 'detail-type': ['AWS API Call via CloudTrail'] }),
  });
  template.hasResourceProperties('AWS::Events::Rule', { Name: 'firebreak-close-open-ports-sweep', ScheduleExpression: 'rate(1 hour)' });
  template.hasResourceProperties('AWS::Events::Rule', { Name: 'firebreak-audit-posture-daily', ScheduleExpression: 'rate(1 day)' });
});

test('no function can change a Firebreak role, and close-open-ports cannot change a Firebreak group', () => {
  const template = synth();
  const denies = Object.values(template.findResources('AWS::IAM::Role')).flatMap((role) =>
    (role.Properties.Policies ?? []).flatMap((policy: { PolicyDocument: { Statement: { Effect: string; Sid?: string }[] } }) =>
      policy.PolicyDocument.Statement.filter((s) => s.Effect === 'Deny').map((s) => s.Sid)));
  assert.ok(denies.includes('NeverTouchFirebreakRoles'));
  assert.ok(denies.includes('NeverTouchFirebreakGroups'));
});

test('each function gets only its own configuration', () => {
  const template = synth();
  for (const spec of FUNCTIONS) {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', {
      Properties: { Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: spec.name }]) },
    }));
    const variables = Object.keys(fn.Properties.Environment.Variables).filter((v) => v.startsWith('FIREBREAK_')).sort();
    assert.deepEqual(variables, Object.keys(spec.environment).sort(), spec.name);
  }
});

test('roles: own path for the member-account trust, no managed policy, exempt resources denied', () => {
  const template = synth();
  template.allResourcesProperties('AWS::IAM::Role', { Path: '/firebreak/', ManagedPolicyArns: Match.absent() });
  const guards = template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: 'exemption-guard' } });
  // Every acting function passes the scheduler role (approve_within): guarded even with no list of its own.
  const guarded = (f: (typeof FUNCTIONS)[number]) => f.deniedOnExemptResources.length > 0 || 'FIREBREAK_POLICY_PARAMETER' in f.environment;
  assert.equal(Object.keys(guards).length, FUNCTIONS.filter(guarded).length);
  for (const guard of Object.values(guards)) {
    const document = JSON.parse(guard.Properties.PolicyDocument['Fn::Sub']);
    assert.equal(document.Statement[0].Effect, 'Deny');
    assert.deepEqual(document.Statement[0].Condition, { Null: { 'aws:ResourceTag/${ExemptTagKey}': 'false' } });
  }
});

test('no mutating action is allowed on every resource', () => {
  const template = synth();
  const read = /^[a-z0-9-]+:(Describe|Get|List)/;
  // StartMalwareScan has no resource type (Service Authorization Reference; infra_check.py too).
  const noResourceType = new Set(['guardduty:StartMalwareScan']);
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const policy of role.Properties.Policies ?? []) {
      for (const statement of policy.PolicyDocument.Statement) {
        const actions: string[] = [statement.Action].flat();
        if (statement.Effect === 'Allow' && [statement.Resource].flat().includes('*')) {
          assert.deepEqual(actions.filter((a) => !read.test(a) && !noResourceType.has(a)), [], `mutating actions on "*" in ${statement.Sid}`);
        }
      }
    }
  }
});

test('the alert topic and the failure queue are encrypted and refuse plain HTTP', () => {
  const template = synth();
  template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
  });
});

test('cdk-nag AwsSolutions passes (every acknowledgement carries its reason in lib/stack.ts)', () => {
  const app = new App();
  new FirebreakStack(app, 'Firebreak', { lambdaDir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assert.doesNotThrow(() => app.synth());
});

test('the stack refuses to synthesise without the built binaries', () => {
  assert.throws(() => new FirebreakStack(new App(), 'Firebreak', { lambdaDir: path.join(lambdaDir, 'missing') }), /cargo lambda build/);
});

test('every function assumes only the member role by its name, and publishes only to the alert topic', () => {
  const template = synth();
  const topics = Object.keys(template.findResources('AWS::SNS::Topic'));
  assert.equal(topics.length, 1);
  for (const spec of FUNCTIONS) {
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: { Tags: Match.absent(), Description: Match.stringLikeRegexp(`^${spec.name};`) },
    });
    const [role] = Object.values(roles) as { Properties: { Policies: { PolicyName: string; PolicyDocument: { Statement: Record<string, unknown>[] } }[] } }[];
    assert.ok(role, `${spec.name}: no role`);
    const statements = role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement);
    const of = (action: string) => statements.filter((s) => ([] as unknown[]).concat(s.Action).includes(action));
    // Every function acts in member accounts (issue 14): through the one role name, nothing else.
    const assume = of('sts:AssumeRole');
    assert.equal(assume.length, 1, `${spec.name} must assume the member role`);
    assert.deepEqual(assume[0].Resource, {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/', { Ref: 'MemberRoleName' }]],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: spec.name }]),
      Environment: {
        Variables: Match.objectLike({
          FIREBREAK_MEMBER_ROLE_NAME: { Ref: 'MemberRoleName' },
          FIREBREAK_EXTERNAL_ID: { Ref: 'MemberExternalId' },
          FIREBREAK_ALLOWED_ACCOUNTS: { Ref: 'AllowedAccounts' },
        }),
      },
    });
    for (const publish of of('sns:Publish')) {
      assert.deepEqual(publish.Resource, { Ref: topics[0] }, spec.name);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: spec.name }]),
        Environment: { Variables: Match.objectLike({ FIREBREAK_SNS_TOPIC_ARN: { Ref: topics[0] } }) },
      });
    }
  }
});

test('organizations:ListAccounts: only audit-posture and the canary, only when AuditOrganization is "true"', () => {
  const template = synth();
  template.hasParameter('AuditOrganization', { Type: 'String', Default: 'false', AllowedValues: ['true', 'false'] });
  template.hasCondition('AuditOrganizationEnabled', { 'Fn::Equals': [{ Ref: 'AuditOrganization' }, 'true'] });
  // Both choose their accounts the same way (posture::accounts_to_audit).
  for (const name of ['audit-posture', 'canary']) {
    const [role] = Object.keys(template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp(`^${name};`) },
    }));
    // The one grant: a policy of its own, created only under the Condition, on the function's role.
    const granting = Object.values({
      ...template.findResources('AWS::IAM::Policy'),
      ...template.findResources('AWS::IAM::Role'),
    }).filter((r) => JSON.stringify(r).includes('organizations:') && JSON.stringify(r).includes(role));
    assert.equal(granting.length, 1, name);
    const [policy] = granting;
    assert.equal(policy.Type, 'AWS::IAM::Policy');
    assert.equal(policy.Condition, 'AuditOrganizationEnabled');
    assert.deepEqual(policy.Properties.Roles, [{ Ref: role }]);
    assert.deepEqual(policy.Properties.PolicyDocument.Statement, [
      { Sid: 'ListOrganizationAccounts', Effect: 'Allow', Action: 'organizations:ListAccounts', Resource: '*' },
    ]);
    // The function is told the same thing the role is.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: name }]),
      Environment: { Variables: Match.objectLike({ FIREBREAK_AUDIT_ORGANIZATION: { Ref: 'AuditOrganization' } }) },
    });
  }
  const all = Object.values({ ...template.findResources('AWS::IAM::Policy'), ...template.findResources('AWS::IAM::Role') });
  assert.equal(all.filter((r) => JSON.stringify(r).includes('organizations:')).length, 2, 'no other grant');
});

test('the case ledger: keyed by case_id, on demand, point-in-time recovery, encrypted, protected and kept', () => {
  const template = synth();
  template.resourceCountIs('AWS::DynamoDB::Table', 1);
  template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      KeySchema: [{ AttributeName: 'case_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'case_id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: Match.objectLike({ SSEEnabled: true }),
      DeletionProtectionEnabled: true,
    },
  });
});

test('every function is told the ledger; only those that open cases may use it, on the table only', () => {
  const template = synth();
  const [table] = Object.keys(template.findResources('AWS::DynamoDB::Table'));
  const writers = ['quarantine-instance', 'revoke-credentials', 'close-open-ports', 'abuse-report', 'release', 'contain-lambda', 'contain-bucket', 'quarantine-task'];
  for (const spec of FUNCTIONS) {
    // The canary reads no common setting, so it is not told the ledger.
    if (spec.name !== 'canary') {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: spec.name }]),
        Environment: { Variables: Match.objectLike({ FIREBREAK_CASES_TABLE: { Ref: table } }) },
      });
    }
    const [role] = Object.values(template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp(`^${spec.name};`) },
    })) as { Properties: { Policies: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } }[] } }[];
    const ledger = role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement)
      .filter((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith('dynamodb:')));
    if (!writers.includes(spec.name)) {
      assert.deepEqual(ledger, [], `${spec.name} opens no case`);
      continue;
    }
    assert.equal(ledger.length, 1, spec.name);
    assert.deepEqual([...([] as string[]).concat(ledger[0].Action)].sort(), ['dynamodb:GetItem', 'dynamodb:UpdateItem'], spec.name);
    assert.deepEqual(ledger[0].Resource, { 'Fn::GetAtt': [table, 'Arn'] }, spec.name);
  }
});

test('release hears only the Security Hub actions "Release", "Approve" and "Reject", which the stack creates when Security Hub is on', () => {
  const template = synth();
  template.hasCondition('SecurityHubEnabled', { 'Fn::Equals': [{ Ref: 'SecurityHub' }, 'true'] });
  for (const action of ['Release', 'Approve', 'Reject']) {
    template.hasResource('AWS::SecurityHub::ActionTarget', {
      Condition: 'SecurityHubEnabled',
      Properties: { Id: action, Name: action },
    });
  }
  const [release] = Object.keys(template.findResources('AWS::Lambda::Function', {
    Properties: { Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: 'release' }]) },
  }));
  const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((rule) =>
    rule.Properties.Targets.some((t: { Arn: unknown }) => JSON.stringify(t.Arn).includes(`"${release}"`)));
  assert.deepEqual(rules.map((r) => r.Properties.EventPattern), ['Release', 'Approve', 'Reject'].map((action) => ({
    source: ['aws.securityhub'],
    'detail-type': ['Security Hub Findings - Custom Action'],
    resources: [{ suffix: `:action/custom/${action}` }],
  })));
  template.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunction',
    Principal: 'events.amazonaws.com',
    FunctionName: { 'Fn::GetAtt': [release, 'Arn'] },
  });
});
