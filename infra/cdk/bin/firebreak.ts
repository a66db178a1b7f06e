#!/usr/bin/env node
// Synthesises the Firebreak stack with the cdk-nag AwsSolutions checks applied.
// Function code: FIREBREAK_LAMBDA_DIR (default: the workspace's target/lambda, where
// `cargo lambda build --release --arm64` puts each function's bootstrap).

import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EvidenceStack } from '../lib/evidence';
import { FirebreakStack } from '../lib/stack';

const workspace = path.resolve(__dirname, '..', '..', '..', '..');
const app = new App();
new FirebreakStack(app, 'Firebreak', {
  lambdaDir: process.env.FIREBREAK_LAMBDA_DIR ?? path.join(workspace, 'target', 'lambda'),
  description: 'Firebreak: automatic containment for compromised AWS workloads.',
});
// With `-c evidence=true` (infra-check sets it): the forensic evidence stack as well, the same
// resources as infra/evidence.yaml (deploy it with `npx cdk deploy -c evidence=true FirebreakEvidence`).
if (app.node.tryGetContext('evidence') === 'true') {
  new EvidenceStack(app, 'FirebreakEvidence', {
    description: 'Firebreak forensic evidence: forensic instance profile, capture document, evidence bucket (docs/evidence.md).',
  });
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
