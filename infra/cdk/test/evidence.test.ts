// The evidence stack (lib/evidence.ts): infra/evidence.yaml included, checked by cdk-nag.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EvidenceStack } from '../lib/evidence';

test('the evidence bucket is Object Lock COMPLIANCE, versioned, SSE-KMS, private and logged', () => {
  const template = Template.fromStack(new EvidenceStack(new App(), 'FirebreakEvidence'));
  template.hasResourceProperties('AWS::S3::Bucket', {
    ObjectLockEnabled: true,
    ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: { Ref: 'RetentionDays' } } } },
    VersioningConfiguration: { Status: 'Enabled' },
    BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
    LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'evidence/' }),
  });
  template.hasParameter('RetentionDays', { Type: 'Number' });
});

test('an instance writes evidence only under its own ARN', () => {
  const template = Template.fromStack(new EvidenceStack(new App(), 'FirebreakEvidence'));
  template.hasResourceProperties('AWS::IAM::Role', {
    RoleName: 'FirebreakForensic',
    Policies: [Match.objectLike({ PolicyDocument: Match.objectLike({ Statement: Match.arrayWith([Match.objectLike({
      Action: 's3:PutObject',
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${EvidenceBucketName}/${!ec2:SourceInstanceARN}/*' },
    })]) }) })],
  });
});

test('cdk-nag AwsSolutions finds nothing unacknowledged in the evidence stack', () => {
  const app = new App();
  new EvidenceStack(app, 'FirebreakEvidence');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assert.doesNotThrow(() => app.synth());
});
