// The forensic evidence resources (docs/evidence.md) in the CDK app: infra/evidence.yaml itself,
// included resource by resource (cloudformation-include), so that SAM's side and CDK's are one
// file and cannot drift; cdk-nag checks the included resources like any other. A stack of its
// own, like evidence.yaml: the forensic role and document go to every account (the bucket to the
// security account only), the Firebreak stack to the security account.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack, StackProps, Validations } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { Construct } from 'constructs';

/** infra/evidence.yaml, from lib/ or dist/lib/. */
export const EVIDENCE_TEMPLATE = [path.join(__dirname, '..', '..', 'evidence.yaml'), path.join(__dirname, '..', '..', '..', 'evidence.yaml')]
  .find((candidate) => fs.existsSync(candidate)) ?? 'infra/evidence.yaml';

export class Evidence extends Construct {
  readonly template: CfnInclude;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.template = new CfnInclude(this, 'Template', { templateFile: EVIDENCE_TEMPLATE });
    const acknowledge = (logicalId: string, rule: string, reason: string): void =>
      Validations.of(this.template.getResource(logicalId)).acknowledge({ id: rule, reason });
    acknowledge('ForensicRole', 'AwsSolutions-IAM5[Resource::*]',
      'The SSM agent actions of AmazonSSMManagedInstanceCore (ssm, ssmmessages, ec2messages) support no resource-level permission for the agent\'s own calls.');
    acknowledge('ForensicRole', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<EvidenceBucketName>/<!ec2:SourceInstanceARN>/*]',
      'An instance writes objects of its own case under its own ARN only (the policy variable); the key names are the capture\'s.');
    acknowledge('InvestigatorsRole', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<EvidenceBucketName>/*]',
      'Investigators read every object of the evidence bucket: that is the role\'s purpose.');
    acknowledge('EvidenceLogBucket', 'AwsSolutions-S1',
      'The access-log bucket itself: logging its own access would log into itself.');
  }
}

export class EvidenceStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    new Evidence(this, 'Evidence');
  }
}
