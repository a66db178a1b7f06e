// Firebreak watches itself (docs/operations.md): alarms on the alert topic and a dashboard, the
// same as infra/sam/template.yaml. The function list drives them: every function built gets its
// Errors and Throttles alarms and one FailedInvocations alarm per rule; every function that
// changes something (it has resources to deny when exempt) gets the failed-case and
// time-to-containment alarms on its EMF metrics (namespace Firebreak, shared/src/engine/metrics.rs).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnCondition, CfnParameter, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { FirebreakFunction } from './functions';

/** One function as the stack built it. */
export interface Built {
  readonly spec: FirebreakFunction;
  readonly fn: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly rules: { readonly ruleId: string; readonly rule: events.Rule }[];
}

export interface WatchProps {
  readonly built: Built[];
  readonly failedEvents: sqs.Queue;
  readonly alerts: sns.Topic;
  readonly threshold: CfnParameter;
  readonly canaryEnabled: CfnCondition;
}

const NAMESPACE = 'Firebreak';
const FIVE_MINUTES = Duration.minutes(5);

/** The dashboard's body: infra/dashboard.json, which the SAM template carries too. */
export const DASHBOARD_BODY = path.join(__dirname, '..', '..', '..', 'dashboard.json');

export function watch(stack: Stack, props: WatchProps): void {
  const { built, failedEvents, alerts } = props;
  const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number,
    comparison = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD): cloudwatch.Alarm => {
    const created = new cloudwatch.Alarm(stack, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: comparison,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    (created.node.defaultChild as cloudwatch.CfnAlarm).alarmActions = [alerts.topicArn];
    return created;
  };

  alarm('FailedEventsAlarm',
    `An event exhausted Lambda's retries and waits in the failure queue ${failedEvents.queueName}. 1. Read why: the record's responsePayload, and the function's log group. 2. firebreak cases --state failed. 3. Fix the cause, then firebreak replay --queue ${failedEvents.queueUrl} (docs/operations.md).`,
    failedEvents.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES }), 1);

  for (const { spec, fn, logGroup, rules } of built) {
    const id = spec.name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
    const group = logGroup.logGroupName;
    alarm(`${id}ErrorsAlarm`,
      `${spec.name} failed an invocation (Lambda Errors). 1. Read log group ${group} (the errorType and errorMessage). 2. firebreak cases --state failed. 3. After Lambda's retries the event is in the failure queue: fix the cause, then firebreak replay (docs/operations.md).`,
      fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }), 1);
    alarm(`${id}ThrottlesAlarm`,
      `${spec.name} was throttled (Lambda Throttles): events wait or are lost to its reserved concurrency. 1. Read log group ${group} for the burst. 2. Raise the ReservedConcurrency Parameter. 3. firebreak replay for events that reached the failure queue (docs/operations.md).`,
      fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }), 1);
    if (spec.deniedOnExemptResources.length > 0) {
      alarm(`${id}ContainmentFailedAlarm`,
        `${spec.name} reported a failed case (Firebreak Cases, outcome failed): the threat may still be active, or a release did not complete. 1. firebreak cases --state failed, then firebreak show CASE. 2. Read log group ${group} for the failed step. 3. Contain by hand (firebreak quarantine / revoke), then firebreak replay (docs/operations.md).`,
        new cloudwatch.Metric({ namespace: NAMESPACE, metricName: 'Cases', dimensionsMap: { function: spec.name, outcome: 'failed' }, statistic: 'Sum', period: FIVE_MINUTES }), 1);
      const slow = alarm(`${id}TimeToContainmentAlarm`,
        `${spec.name} took longer than the TimeToContainmentThreshold from the signal's time to containment (Firebreak TimeToContainment). 1. Read log group ${group}: each step's duration_ms and retries. 2. Look for throttling (ThrottledCalls) and GuardDuty's own delay. 3. firebreak cases to see the slow case (docs/operations.md).`,
        new cloudwatch.Metric({ namespace: NAMESPACE, metricName: 'TimeToContainment', dimensionsMap: { function: spec.name }, statistic: 'Maximum', period: FIVE_MINUTES }),
        60, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD);
      (slow.node.defaultChild as cloudwatch.CfnAlarm).threshold = props.threshold.valueAsNumber;
    }
    for (const { ruleId, rule } of rules) {
      const failed = alarm(`${id}${ruleId}FailedInvocationsAlarm`,
        `The rule of ${spec.name} (${ruleId}) could not invoke the function (EventBridge FailedInvocations): its events are lost. 1. Check the function exists and its resource policy allows events.amazonaws.com. 2. Read log group ${group}. 3. Re-send the lost events by hand from GuardDuty / Security Hub (docs/operations.md).`,
        new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'FailedInvocations', dimensionsMap: { RuleName: rule.ruleName }, statistic: 'Sum', period: FIVE_MINUTES }), 1);
      if (spec.name === 'canary') (failed.node.defaultChild as cloudwatch.CfnAlarm).cfnOptions.condition = props.canaryEnabled;
    }
    if (spec.name === 'canary') {
      const broken = alarm('CanaryFailedAlarm',
        `The daily canary found the pipeline broken (Firebreak StepsFailed of canary): a disabled rule, a suspended GuardDuty detector, or no report of its sample finding. 1. Read log group ${group}: the failed step names the account and what is missing. 2. firebreak cases --state failed. 3. Fix the rule, detector or member role (docs/operations.md).`,
        new cloudwatch.Metric({ namespace: NAMESPACE, metricName: 'StepsFailed', dimensionsMap: { function: 'canary' }, statistic: 'Sum', period: FIVE_MINUTES }), 1);
      (broken.node.defaultChild as cloudwatch.CfnAlarm).cfnOptions.condition = props.canaryEnabled;
    }
  }

  // What an on-call engineer opens first; SEARCH finds every function's metrics by namespace and
  // this stack's functions and rules by the stack name in theirs.
  new cloudwatch.CfnDashboard(stack, 'Dashboard', {
    dashboardName: `${stack.stackName}-firebreak`,
    dashboardBody: Fn.sub(JSON.stringify(JSON.parse(fs.readFileSync(DASHBOARD_BODY, 'utf8'))), { QueueName: failedEvents.queueName }),
  });
}
