// Firebreak watches itself: each alarm's metric and threshold, the canary's schedule, the dashboard.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FUNCTIONS } from '../lib/functions';
import { FirebreakStack } from '../lib/stack';
import { DASHBOARD_BODY } from '../lib/watch';

const lambdaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'firebreak-lambda-'));
for (const spec of FUNCTIONS) {
  fs.mkdirSync(path.join(lambdaDir, spec.name), { recursive: true });
  fs.writeFileSync(path.join(lambdaDir, spec.name, 'bootstrap'), '');
}
const template = Template.fromStack(new FirebreakStack(new App(), 'Firebreak', { lambdaDir }));
const topic = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
const queue = Object.keys(template.findResources('AWS::SQS::Queue'))[0];
const functionId = (name: string): string => {
  const found = template.findResources('AWS::Lambda::Function', {
    Properties: { Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: name }]) },
  });
  assert.equal(Object.keys(found).length, 1, name);
  return Object.keys(found)[0];
};
const onTopic = { AlarmActions: [{ Ref: topic }], EvaluationPeriods: 1, TreatMissingData: 'notBreaching' };
// Each alarm's description (a Fn::Join where it names a resource), as text: what to do.
const described = (namespace: string): string[] =>
  Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { Namespace: namespace } }))
    .map((a) => JSON.stringify(a.Properties.AlarmDescription));
const acting = FUNCTIONS.filter((f) => f.deniedOnExemptResources.length > 0);

test('the failure queue holding one message raises an alarm on the alert topic', () => {
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    ...onTopic,
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
    Statistic: 'Maximum',
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
  assert.ok(described('AWS/SQS').every((d) => d.includes('firebreak replay')));
});

test('the alert topic is under a customer managed key CloudWatch alarms may use (aws/sns cannot be granted)', () => {
  const [key] = Object.keys(template.findResources('AWS::KMS::Key'));
  template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
  template.hasResourceProperties('AWS::KMS::Key', {
    EnableKeyRotation: true,
    KeyPolicy: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Sid: 'AlarmsPublishToTheTopic',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        }),
        Match.objectLike({
          Sid: 'FirebreakRolesPublishThroughSns',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: Match.objectLike({ ArnLike: Match.anyValue() }),
        }),
      ]),
    },
  });
});

test("every function's Errors and Throttles raise an alarm", () => {
  for (const spec of FUNCTIONS) {
    for (const metric of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...onTopic,
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(spec.name) } }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  }
});

test("every rule's FailedInvocations raises an alarm", () => {
  const rules = Object.keys(template.findResources('AWS::Events::Rule'));
  assert.ok(rules.length >= 15, `${rules.length} rules`);
  for (const rule of rules) {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...onTopic,
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: rule } }],
      Threshold: 1,
    });
  }
});

test('a failed case and a slow containment of every acting function raise alarms from the EMF metrics', () => {
  assert.ok(acting.some((f) => f.name === 'quarantine-instance'));
  for (const spec of acting) {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...onTopic,
      Namespace: 'Firebreak',
      MetricName: 'Cases',
      Dimensions: Match.arrayEquals([{ Name: 'function', Value: spec.name }, { Name: 'outcome', Value: 'failed' }]),
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...onTopic,
      Namespace: 'Firebreak',
      MetricName: 'TimeToContainment',
      Dimensions: [{ Name: 'function', Value: spec.name }],
      Statistic: 'Maximum',
      Threshold: { Ref: 'TimeToContainmentThreshold' },
      ComparisonOperator: 'GreaterThanThreshold',
    });
  }
  template.hasParameter('TimeToContainmentThreshold', { Type: 'Number', Default: 60 });
  for (const description of described('Firebreak')) {
    assert.ok(description.includes('firebreak cases') && description.includes('log group'), description);
  }
});

test('the canary is off by default: its schedule is disabled and its alarm exists only with Canary "true"', () => {
  template.hasParameter('Canary', { Type: 'String', Default: 'false' });
  template.hasCondition('CanaryEnabled', { 'Fn::Equals': [{ Ref: 'Canary' }, 'true'] });
  template.hasResourceProperties('AWS::Events::Rule', {
    Name: 'firebreak-canary-daily',
    ScheduleExpression: 'rate(1 day)',
    State: { 'Fn::If': ['CanaryEnabled', 'ENABLED', 'DISABLED'] },
  });
  template.hasResource('AWS::CloudWatch::Alarm', {
    Condition: 'CanaryEnabled',
    Properties: {
      ...onTopic,
      Namespace: 'Firebreak',
      MetricName: 'StepsFailed',
      Dimensions: [{ Name: 'function', Value: 'canary' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    },
  });
});

test("the canary reads quarantine-instance's log group and the GuardDuty rules, and nothing else", () => {
  const canary = template.findResources('AWS::Lambda::Function', { Properties: { Tags: Match.arrayWith([{ Key: 'firebreak:function', Value: 'canary' }]) } });
  const variables = Object.values(canary)[0].Properties.Environment.Variables;
  assert.deepEqual(variables.FIREBREAK_CANARY_LOG_GROUP.Ref.startsWith('QuarantineInstanceLogGroup'), true);
  const rules = variables.FIREBREAK_CANARY_RULES['Fn::Join'][1].map((r: { Ref: string }) => r.Ref);
  // Every rule GuardDuty findings arrive by, in the order the functions are built.
  const guardDuty = FUNCTIONS.flatMap((spec) => Object.entries(spec.rules)
    .filter(([, pattern]) => pattern.source?.includes('aws.guardduty'))
    .map(([ruleId]) => spec.name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('') + ruleId));
  assert.ok(guardDuty.includes('QuarantineInstanceGuardDutyInstanceCompromised'), guardDuty.join());
  assert.deepEqual(rules.map((r: string) => r.replace(/[0-9A-F]{8}$/, '')), guardDuty);
});

test('the dashboard is infra/dashboard.json, the same body the SAM template carries', () => {
  const body = JSON.parse(fs.readFileSync(DASHBOARD_BODY, 'utf8'));
  template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
    DashboardBody: { 'Fn::Sub': [JSON.stringify(body), { QueueName: { 'Fn::GetAtt': [queue, 'QueueName'] } }] },
  });
  const sam = fs.readFileSync(path.join(path.dirname(DASHBOARD_BODY), 'sam', 'template.yaml'), 'utf8');
  assert.ok(sam.includes(JSON.stringify(body)), 'the SAM template carries infra/dashboard.json, unchanged');
  const titles = body.widgets.map((w: { properties: { title: string } }) => w.properties.title).join(' | ');
  for (const expected of ['Cases per outcome', 'Time to containment', 'Failed steps', 'queue depth', 'Rule invocations']) {
    assert.ok(titles.includes(expected), `${expected} in ${titles}`);
  }
});
