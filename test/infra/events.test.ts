/**
 * The integration event bus (lib/aws/events.ts): one custom bus with an archive of Integrator's events, PutEvents on
 * that bus for exactly the functions that publish, each told the bus's name and given its markers' table with the
 * two actions the adapter calls; cdk-nag finds nothing to report on it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { tableEnvName } from '../../schemas/tables.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

const app = new App({
  context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] },
  builtinCloudFormationValidation: false,
});
const stack = new IntegratorStack(app, 'EventsTest', {
  organizations: [{ id: 'acme', name: 'Acme', sshPublicKeys: [], allowedRecords: 10 }],
  alarmEmail: 'ops@example.com',
  handlersDir: stubHandlersDir(),
});
const template = Template.fromStack(stack);
const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
const id = (element: unknown) => stack.resolve(stack.getLogicalId(element as CfnElement)) as string;
const busId = id(stack.events.bus.node.defaultChild);

interface Statement {
  Action: string | string[];
  Resource: unknown;
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Every statement of every policy attached to the role. */
function statementsOf(roleId: string): Statement[] {
  return Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const publishers = {
  import: stack.importPipeline.function,
  export: stack.exports.function,
  'run watch': stack.operations.function,
  'calendar push': stack.calendar.pushFunction,
};

test('one custom bus, and an archive of every Integrator event on it, kept a year', () => {
  template.resourceCountIs('AWS::Events::EventBus', 1);
  template.resourceCountIs('AWS::Events::Archive', 1);
  template.hasResourceProperties('AWS::Events::Archive', {
    SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
    EventPattern: { source: ['integrator'] },
    RetentionDays: 365,
  });
});

test('PutEvents on the bus for exactly the functions that publish', () => {
  const allowed: string[] = [];
  for (const resource of Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
    for (const s of (resource.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
      if (!actions(s).some((a) => a.startsWith('events:Put'))) continue;
      assert.deepEqual(actions(s), ['events:PutEvents']);
      assert.deepEqual(s.Resource, { 'Fn::GetAtt': [busId, 'Arn'] }, 'this bus only');
      allowed.push(...(resource.Properties.Roles as { Ref: string }[]).map((r) => r.Ref));
    }
  }
  const expected = Object.values(publishers).map((fn) => id(fn.role!.node.defaultChild));
  assert.deepEqual(allowed.sort(), expected.sort());
});

for (const [name, fn] of Object.entries(publishers)) {
  test(`${name}: told the bus's name and its markers' table, with GetItem and UpdateItem on it only`, () => {
    const resource = json.Resources[id(fn.node.defaultChild)]!;
    const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(variables.EVENT_BUS_NAME, { Ref: busId });
    const tableId = id(stack.storage.tables.get('PublishedEvents')!.node.defaultChild);
    assert.deepEqual(variables[tableEnvName('PublishedEvents')], { Ref: tableId });
    const onMarkers = statementsOf(id(fn.role!.node.defaultChild)).filter((s) =>
      JSON.stringify(s.Resource).includes(`"${tableId}"`),
    );
    assert.deepEqual(onMarkers.flatMap(actions).sort(), ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
  });
}

test('the functions that do not publish have neither the bus nor the markers', () => {
  for (const fn of [stack.api.function, stack.sweep.function]) {
    const resource = json.Resources[id(fn.node.defaultChild)]!;
    const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.equal(variables.EVENT_BUS_NAME, undefined);
    assert.equal(variables[tableEnvName('PublishedEvents')], undefined);
  }
});

test('an alarm when an export could not publish its events', () => {
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'IntegrationEventsNotPublished',
    Dimensions: [{ Name: 'service', Value: 'export-run' }],
    AlarmActions: Match.anyValue(),
  });
});

test('cdk-nag: nothing to report on the bus, its archive, its alarm and its grants', () => {
  const report = new AwsSolutionsChecks(app).validateScope(app);
  const findings = report.violations.flatMap((v) =>
    v.violatingResources
      .filter((r) => /\/Events\/|PublishedEvents/.test(r.constructPath ?? ''))
      .map((r) => `${v.ruleName}: ${r.constructPath}`),
  );
  assert.deepEqual(findings, []);
});
