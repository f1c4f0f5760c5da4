import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ROLES } from '../../functions/api/auth-roles.ts';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

test('the user pool has one group per API role, the strongest first', () => {
  const app = new App({ context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new IntegratorStack(app, 'Roles', { organizations: [], handlersDir: stubHandlersDir() });
  const groups = Object.values(Template.fromStack(stack).findResources('AWS::Cognito::UserPoolGroup')).map(
    (g) => g.Properties as { GroupName: string; Precedence: number; UserPoolId: unknown },
  );
  assert.deepEqual(
    groups.sort((a, b) => a.Precedence - b.Precedence).map((g) => g.GroupName),
    [...ROLES],
  );
  assert.ok(groups.every((g) => g.UserPoolId !== undefined));
});
