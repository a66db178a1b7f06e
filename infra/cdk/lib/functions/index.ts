// Every Firebreak Lambda: its binary (the crate in functions/), its EventBridge triggers and
// exactly the IAM statements for the AWS calls its code makes. infra/sam/template.yaml deploys
// the same; scripts/infra-check.sh checks both against the code and the sample events.
//
// Adding a function: append an entry to the file of its kind (name = the crate name), copy its
// SAM block, file its sample events under events/<name>/. The order is the stack's.

import { CONTAIN_FUNCTIONS } from './contain';
import { RELEASE_FUNCTIONS } from './release';
import { RESPOND_FUNCTIONS } from './respond';
import { FirebreakFunction } from './shared';

export { APPROVAL_ENVIRONMENT, FirebreakFunction, HomeResources, arn } from './shared';

export const FUNCTIONS: FirebreakFunction[] = [...CONTAIN_FUNCTIONS, ...RESPOND_FUNCTIONS, ...RELEASE_FUNCTIONS];
