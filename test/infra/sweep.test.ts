/**
 * The sweep's infrastructure (lib/aws/sweep.ts): an EventBridge Scheduler schedule invoking the sweep function, with
 * retries and a dead-letter queue; the function's grants exactly what its adapters call (ListBucketVersions under
 * inbound/, BatchGetItem on Files, SendMessage to the import queue), nothing that reads or writes an object or an
 * item; alarms on its dead letters, its errors and on lost events found.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { cdkFeatureFlags, roleActions, stubHandlersDir } from '../support/cdk-test-app.ts';

const handlersDir = stubHandlersDir();
const app = new App({ context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
const stack = new IntegratorStack(app, 'SweepTest', { organizations: [], handlersDir });
const template = Template.fromStack(stack);
const ref = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);

const sweepFn = ref(stack.sweep.function);
const dlq = ref(stack.sweep.deadLetterQueue);

/** Every action the sweep function's role may take. */
const sweepActions = () => roleActions(template, ref(stack.sweep.function.role as never));

test('a schedule every 15 minutes invokes the sweep, with retries and a dead-letter queue', () => {
  template.hasResourceProperties('AWS::Scheduler::Schedule', {
    ScheduleExpression: 'rate(15 minutes)',
    State: 'ENABLED',
    Target: {
      Arn: { 'Fn::GetAtt': [sweepFn, 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
    },
  });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    FunctionName: { Ref: sweepFn },
    MaximumRetryAttempts: 2,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
  });
});

test('the sweep may list inbound versions, look up the ledger and announce to the import queue: nothing more', () => {
  assert.deepEqual(sweepActions(), [
    'dynamodb:BatchGetItem',
    'kms:Decrypt',
    'kms:DescribeKey',
    'kms:Encrypt',
    'kms:GenerateDataKey',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    's3:ListBucket',
    's3:ListBucketVersions',
    'sqs:SendMessage',
    'xray:PutTelemetryRecords',
    'xray:PutTraceSegments',
  ]);
  const bucket = ref(stack.storage.bucket);
  template.hasResourceProperties('AWS::IAM::Policy', {
    Roles: Match.arrayWith([{ Ref: ref(stack.sweep.function.role as never) }]),
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Action: 'sqs:SendMessage',
          // The import queue, and its own dead-letter queue (failed asynchronous invocations).
          Resource: [{ 'Fn::GetAtt': [ref(stack.importPipeline.queue), 'Arn'] }, { 'Fn::GetAtt': [dlq, 'Arn'] }],
        }),
        Match.objectLike({
          Action: 's3:ListBucketVersions',
          Resource: { 'Fn::GetAtt': [bucket, 'Arn'] },
          Condition: { StringLike: { 's3:prefix': ['inbound/*'] } },
        }),
      ]),
    },
  });
  const env = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('upload event was lost') },
  });
  const vars = (Object.values(env)[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } })
    .Properties.Environment.Variables;
  assert.ok(vars.IMPORT_QUEUE_URL && vars.TABLE_FILES && vars.INTEGRATOR_BUCKET);
  assert.equal(vars.INTEGRATOR_SWEEP_SETTLE_MS, '600000');
  // Only the table it reads is named.
  assert.deepEqual(
    Object.keys(vars).filter((k) => k.startsWith('TABLE_')),
    ['TABLE_FILES'],
  );
});

test('alarms on the dead letters, the errors, throttles and lost events found, sent to the alarm topic', () => {
  for (const metric of ['ApproximateNumberOfMessagesVisible', 'Errors', 'Throttles', 'SweepFilesFound']) {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metric,
      Threshold: 1,
      AlarmActions: [{ Ref: ref(stack.monitoring.topic) }],
      ...(metric === 'SweepFilesFound'
        ? { Namespace: 'Integrator', Dimensions: [{ Name: 'service', Value: 'sweep' }] }
        : {}),
    });
  }
  assert.equal(stack.sweep.alarms.length, 4);
});
