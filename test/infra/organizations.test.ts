import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { sftpSessionPolicy } from '../../functions/core/sftp-access.ts';
import { AREA_ACCESS, AREAS } from '../../functions/core/transfer/layout.ts';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { KEY_MANAGEMENT_ACTIONS, USER_MANAGEMENT_ACTIONS } from '../../lib/aws/sftp.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

const app = new App({ context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
const stack = new IntegratorStack(app, 'Orgs', { organizations: [], handlersDir: stubHandlersDir() });
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties, read as the template holds them
const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: any }> };
const idOf = (construct: { node: { defaultChild?: unknown } } | unknown) =>
  stack.getLogicalId((construct as { node: { defaultChild: never } }).node.defaultChild);

/** Every statement of the default policy of a function's role. */
function statementsOf(fn: { role?: unknown }): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const roleId = stack.getLogicalId((fn.role as { node: { defaultChild: never } }).node.defaultChild);
  return Object.values(json.Resources)
    .filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}
const actionsOf = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const serverId = stack.getLogicalId(stack.sftp.server);
const usersOfServer = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':transfer:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':user/',
      { 'Fn::GetAtt': [serverId, 'ServerId'] },
      '/*',
    ],
  ],
};

describe('Transfer Family calls', () => {
  test("the operator function manages this server's users only, and passes only the users' role, to Transfer", () => {
    const statements = statementsOf(stack.operator.function);
    const transfer = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('transfer:')));
    assert.equal(transfer.length, 1);
    assert.deepEqual(actionsOf(transfer[0]!).sort(), [...USER_MANAGEMENT_ACTIONS].sort());
    assert.deepEqual(transfer[0]!.Resource, usersOfServer);
    // (The other PassRole is the Scheduler's role, for removing schedules: lib/aws/schedules.ts.)
    const pass = statements.filter(
      (s) => actionsOf(s).includes('iam:PassRole') && JSON.stringify(s.Resource).includes(idOf(stack.sftp.usersRole)),
    );
    assert.equal(pass.length, 1);
    assert.deepEqual(pass[0]!.Resource, { 'Fn::GetAtt': [idOf(stack.sftp.usersRole), 'Arn'] });
    assert.deepEqual(pass[0]!.Condition, { StringEquals: { 'iam:PassedToService': 'transfer.amazonaws.com' } });
  });

  test('the API function only imports and deletes keys of those users; it creates none and passes no role', () => {
    const statements = statementsOf(stack.api.function);
    const transfer = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('transfer:')));
    assert.equal(transfer.length, 1);
    assert.deepEqual(actionsOf(transfer[0]!).sort(), [...KEY_MANAGEMENT_ACTIONS].sort());
    assert.deepEqual(transfer[0]!.Resource, usersOfServer);
    assert.ok(
      !statements.some(
        (s) => actionsOf(s).includes('iam:PassRole') && JSON.stringify(s.Resource).includes(idOf(stack.sftp.usersRole)),
      ),
    );
  });

  test('no other function calls Transfer Family', () => {
    const others = Object.values(json.Resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes('"transfer:'),
    );
    assert.equal(others.length, 2);
  });
});

describe('the operator route', () => {
  test('is ANY /operator/{proxy+} with IAM authorization, integrated with the operator function only', () => {
    const route = Object.values(json.Resources).find(
      (r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === 'ANY /operator/{proxy+}',
    );
    assert.ok(route);
    assert.equal(route.Properties.AuthorizationType, 'AWS_IAM');
    const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
    const integration = json.Resources[integrationId.Ref]!;
    assert.match(JSON.stringify(integration.Properties.IntegrationUri), new RegExp(idOf(stack.operator.function)));
  });
});

describe("an SFTP user's session policy (one per organization, from AREA_ACCESS)", () => {
  const bucketArn = 'arn:aws:s3:::integrator-data';
  const statements = (org: string) =>
    (
      JSON.parse(sftpSessionPolicy(org, bucketArn)) as {
        Statement: { Action: string[]; Resource: string; Condition?: { StringLike: Record<string, string[]> } }[];
      }
    ).Statement;
  const glob = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  const allows = (org: string, action: string, resource: string, prefix?: string) =>
    statements(org).some(
      (s) =>
        s.Action.includes(action) &&
        glob(s.Resource).test(resource) &&
        (!s.Condition ||
          (prefix !== undefined &&
            (s.Condition.StringLike['s3:prefix'] ?? []).some((p: string) => glob(p).test(prefix)))),
    );

  test("reaches its own organization's folders with AREA_ACCESS's permissions, and no other's (acme vs acme-corp)", () => {
    const actions = { read: 's3:GetObject', write: 's3:PutObject', delete: 's3:DeleteObject' } as const;
    for (const area of AREAS) {
      for (const [permission, action] of Object.entries(actions) as [keyof typeof actions, string][]) {
        assert.equal(
          allows('acme', action, `${bucketArn}/${area}/acme/x.csv`),
          AREA_ACCESS[area][permission],
          `${area} ${action}`,
        );
        assert.ok(!allows('acme', action, `${bucketArn}/${area}/acme-corp/x.csv`));
      }
      assert.ok(allows('acme', 's3:ListBucket', bucketArn, `${area}/acme/`));
      assert.ok(!allows('acme', 's3:ListBucket', bucketArn, `${area}/acme-corp/`));
      assert.ok(!allows('acme', 's3:ListBucket', bucketArn, `${area}/acme`));
    }
    assert.ok(
      sftpSessionPolicy('a-very-long-organization-id-that-is-sixty-three-characters-long', bucketArn).length <= 2048,
    );
  });
});
