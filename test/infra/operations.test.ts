import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { RUN_WATCH_RATE_MINUTES } from '../../lib/aws/operations.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

const app = new App({
  context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] },
  builtinCloudFormationValidation: false,
});
const stack = new IntegratorStack(app, 'OpsTest', {
  organizations: [],
  handlersDir: stubHandlersDir(),
  notifySender: 'integrator@firm.example',
});
const template = Template.fromStack(stack);
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is checked field by field
const resources = (template.toJSON() as { Resources: Record<string, any> }).Resources;
const ref = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);
const fnId = ref(stack.operations.function);

test('the run watch runs on a schedule, its failed deliveries kept in a dead-letter queue', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: `rate(${RUN_WATCH_RATE_MINUTES} minutes)`,
    Targets: [
      Match.objectLike({
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ref(stack.operations.deadLetterQueue), 'Arn'] } },
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 2 }),
      }),
    ],
  });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    FunctionName: { Ref: fnId },
    MaximumRetryAttempts: 2,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ref(stack.operations.deadLetterQueue), 'Arn'] } } },
  });
});

test('SES: one identity with the configuration set; sending allowed only from the sender, through both', () => {
  template.hasResourceProperties('AWS::SES::ConfigurationSet', {
    ReputationOptions: { ReputationMetricsEnabled: true },
    SuppressionOptions: { SuppressedReasons: Match.arrayWith(['BOUNCE', 'COMPLAINT']) },
  });
  template.hasResourceProperties('AWS::SES::EmailIdentity', {
    EmailIdentity: 'integrator@firm.example',
    ConfigurationSetAttributes: { ConfigurationSetName: { Ref: ref(stack.operations.configurationSet) } },
  });
  const statements = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => r.Properties.PolicyDocument.Statement)
    .filter((s) => [s.Action].flat().some((a: string) => a.startsWith('ses:')));
  // The run watch, the import and the export function (the two e-mail a run they end failed), and the calendar push
  // (a connection needing re-authentication): the same statement.
  assert.equal(statements.length, 4);
  assert.equal(new Set(statements.map((s) => JSON.stringify(s))).size, 1);
  const [ses] = statements;
  assert.deepEqual([ses.Action].flat().sort(), ['ses:SendEmail', 'ses:SendRawEmail']);
  assert.deepEqual(ses.Condition, { StringEquals: { 'ses:FromAddress': 'integrator@firm.example' } });
  const text = JSON.stringify(ses.Resource);
  assert.ok(!text.includes('"*"'), 'no wildcard resource');
  assert.ok(text.includes(`:identity/",{"Ref":"${ref(stack.operations.identity)}"}`), 'the one identity');
  assert.match(text, /configuration-set\//);
  const env = resources[fnId].Properties.Environment.Variables;
  assert.equal(env.NOTIFY_FROM, 'integrator@firm.example');
  assert.deepEqual(env.SES_CONFIGURATION_SET, { Ref: ref(stack.operations.configurationSet) });
});

test('the run watch reaches exactly its tables: the outbox written, runs updated, organizations scanned', () => {
  const statements = Object.values(resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles).includes(ref(stack.operations.function.role as never)),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
  const actionsOn = (table: string) =>
    statements
      .filter((s) => JSON.stringify(s.Resource).includes(ref(stack.storage.tables.get(table as never)!)))
      .flatMap((s) => [s.Action].flat())
      .sort();
  assert.deepEqual(actionsOn('Notifications'), [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ]);
  assert.deepEqual(actionsOn('Runs'), ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  assert.deepEqual(actionsOn('Organizations'), ['dynamodb:GetItem', 'dynamodb:Scan']);
  assert.ok(
    !statements.some(
      (s) =>
        [s.Action].flat().includes('dynamodb:Scan') &&
        JSON.stringify(s.Resource).includes(ref(stack.storage.tables.get('Records')!)),
    ),
  );
});

test('alarms for the run watch: errors, throttles, dead letters, failed notifications, each to the alarm topic', () => {
  assert.deepEqual(stack.operations.alarms.map((a) => a.node.id).sort(), [
    'NotificationFailures',
    'RunWatchDeadLetters',
    'RunWatchErrors',
    'RunWatchThrottles',
  ]);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'NotificationFailures',
    Namespace: 'Integrator',
    AlarmActions: [{ Ref: ref(stack.monitoring.topic) }],
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ref(stack.operations.deadLetterQueue), 'QueueName'] } }],
  });
});

test("the run watch reads the Scheduler's dead-letter queue: each undelivered firing is a schedule_missed notification", () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: fnId },
    EventSourceArn: { 'Fn::GetAtt': [ref(stack.schedules.targetDeadLetterQueue), 'Arn'] },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
});
