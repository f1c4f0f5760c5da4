import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { tableEnvName } from '../../schemas/tables.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

/** The export function's infrastructure: its queue, least privilege, a dead-letter queue, alarms. */
const flags = cdkFeatureFlags();
const handlersDir = stubHandlersDir();
const app = new App({ context: { ...flags, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
const stack = new IntegratorStack(app, 'ExportsTest', {
  organizations: [{ id: 'acme', name: 'Acme', sshPublicKeys: [], allowedRecords: 10 }],
  alarmEmail: 'ops@example.com',
  handlersDir,
});
const template = Template.fromStack(stack);
const id = (element: unknown) => stack.resolve(stack.getLogicalId(element as CfnElement)) as string;
const fnId = id(stack.exports.function.node.defaultChild);
const fn = template.toJSON().Resources[fnId] as { Properties: Record<string, unknown> };

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function statements(): Statement[] {
  const roleId = id(stack.exports.function.role!.node.defaultChild);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleId }] },
  });
  return Object.values(policies).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

test('the export function: nodejs22.x, the export handler, its tables and bucket named in its environment', () => {
  assert.equal(fn.Properties.Runtime, 'nodejs22.x');
  assert.equal(fn.Properties.Timeout, 900);
  const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  for (const t of ['Records', 'Jobs', 'Runs', 'RunErrors'] as const) assert.ok(env[tableEnvName(t)], t);
  assert.equal(env[tableEnvName('Files')], undefined, 'no access to the arrival ledger');
  // Organizations and Notifications: a failed export run's contacts and outbox entry (operations.ts grantNotify).
  assert.ok(env[tableEnvName('Notifications')] && env.NOTIFY_FROM);
  assert.ok(env.INTEGRATOR_BUCKET);
});

test('least privilege: exactly the DynamoDB actions its adapters call; S3 writes under outbound/ only, no deletes', () => {
  const all = statements();
  const dynamo = all
    .flatMap(actions)
    .filter((a) => a.startsWith('dynamodb:'))
    .sort();
  assert.deepEqual(
    [...new Set(dynamo)],
    [
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:GetItem',
      // The outbox entry of a failed run (operations.ts grantNotify).
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ],
  );
  const s3 = all.filter((s) => actions(s).some((a) => a.startsWith('s3:')));
  const objectStatements = s3.filter((s) => !actions(s).includes('s3:ListBucket'));
  assert.ok(objectStatements.length > 0);
  for (const s of objectStatements) {
    assert.ok(!actions(s).some((a) => a.startsWith('s3:Delete')), 'no delete');
    assert.match(JSON.stringify(s.Resource), /outbound\/\*/);
    assert.doesNotMatch(JSON.stringify(s.Resource), /inbound|archive/);
  }
  assert.ok(all.flatMap(actions).includes('s3:PutObject'));
  assert.ok(!all.flatMap(actions).includes('dynamodb:DeleteItem'));
  assert.ok(!all.flatMap(actions).includes('dynamodb:Scan'));
});

test('the export-runs queue feeds the function one run at a time; failures go to an encrypted DLQ; alarms', () => {
  const queueId = id(stack.exports.queue.node.defaultChild);
  const dlqId = id(stack.exports.deadLetterQueue.node.defaultChild);
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: fnId },
    EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    BatchSize: 1,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
  const queue = template.toJSON().Resources[queueId] as { Properties: Record<string, unknown> };
  assert.ok(queue.Properties.KmsMasterKeyId);
  assert.ok((queue.Properties.VisibilityTimeout as number) >= 900, 'at least the function timeout');
  assert.deepEqual(queue.Properties.RedrivePolicy, {
    deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
    maxReceiveCount: 3,
  });
  const dlq = template.toJSON().Resources[dlqId] as { Properties: Record<string, unknown> };
  assert.ok(dlq.Properties.KmsMasterKeyId);
  // No async invocation any more: nothing invokes the function but its queue.
  assert.deepEqual(
    template.findResources('AWS::Lambda::EventInvokeConfig', { Properties: { FunctionName: { Ref: fnId } } }),
    {},
  );
  const names = stack.exports.alarms.map((a) => a.node.id).sort();
  assert.deepEqual(names, [
    'ExportDeadLetters',
    'ExportErrors',
    'ExportRunsInterrupted',
    'ExportRunsWaiting',
    'ExportThrottles',
  ]);
  for (const alarm of stack.exports.alarms) {
    const props = (template.toJSON().Resources[id(alarm.node.defaultChild)] as { Properties: Record<string, unknown> })
      .Properties;
    assert.ok((props.AlarmActions as unknown[]).length === 1, `${alarm.node.id} notifies the alarm topic`);
  }
});

test('the scheduled-run function hands export runs over: the queue URL in its environment, send on that queue only', () => {
  const runner = stack.schedules.function;
  const runnerFn = template.toJSON().Resources[id(runner.node.defaultChild)] as { Properties: Record<string, unknown> };
  const env = (runnerFn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  assert.deepEqual(env.EXPORT_RUNS_QUEUE_URL, { Ref: id(stack.exports.queue.node.defaultChild) });
  const roleId = id(runner.role!.node.defaultChild);
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  const sends = Object.values(policies)
    .flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    )
    .filter((st) => actions(st).includes('sqs:SendMessage'))
    .map((st) => JSON.stringify(st.Resource));
  assert.ok(sends.some((r) => r.includes(id(stack.exports.queue.node.defaultChild))));
  // The export function itself is not invoked by it.
  assert.ok(!sends.some((r) => r.includes(fnId)));
});
