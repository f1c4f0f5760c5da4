import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

const app = new App({ context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
const stack = new IntegratorStack(app, 'SchedTest', {
  organizations: [{ id: 'acme', name: 'Acme', sshPublicKeys: [], allowedRecords: 10 }],
  handlersDir: stubHandlersDir(),
});
const template = Template.fromStack(stack);
const resolve = (v: unknown) => JSON.stringify(Stack.of(stack).resolve(v));

test('one schedule group for the stack', () => {
  template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
  template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'SchedTest-jobs' });
});

test('the role Scheduler assumes: this account only, and it may only send to the job-runs queues', () => {
  const role = stack.schedules.schedulerRole;
  const roles = template.findResources('AWS::IAM::Role', {
    Properties: {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    },
  });
  assert.equal(Object.keys(roles).length, 1);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Stack.of(stack).getLogicalId(role.node.defaultChild as never) }] },
  });
  const statements = Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties
        .PolicyDocument.Statement,
  );
  const actions = [...new Set(statements.flatMap((s) => [s.Action].flat()))].sort();
  assert.deepEqual(actions, ['kms:Decrypt', 'kms:GenerateDataKey', 'sqs:SendMessage']);
  const resources = statements.map((s) => resolve(s.Resource));
  assert.ok(
    resources.some((r) => r.includes(Stack.of(stack).getLogicalId(stack.schedules.queue.node.defaultChild as never))),
  );
  assert.ok(
    resources.some((r) =>
      r.includes(Stack.of(stack).getLogicalId(stack.schedules.targetDeadLetterQueue.node.defaultChild as never)),
    ),
  );
});

test('the API keeps schedules in the group only and learns where they go', () => {
  const env = resolve(template.findResources('AWS::Lambda::Function'));
  for (const name of [
    'SCHEDULE_GROUP',
    'JOB_RUNS_QUEUE_ARN',
    'JOB_RUNS_QUEUE_URL',
    'SCHEDULER_ROLE_ARN',
    'SCHEDULER_DLQ_ARN',
  ]) {
    assert.ok(env.includes(name), name);
  }
  const policies = resolve(template.findResources('AWS::IAM::Policy'));
  assert.ok(policies.includes('scheduler:CreateSchedule'));
  assert.ok(policies.includes(':schedule/SchedTest-jobs/*'));
  assert.ok(policies.includes('iam:PassRole'));
});

test('the scheduled-run function reads the job-runs queue; both dead-letter queues are alarmed', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: {
      'Fn::GetAtt': [Stack.of(stack).getLogicalId(stack.schedules.queue.node.defaultChild as never), 'Arn'],
    },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
  assert.equal(stack.schedules.alarms.length, 5);
  for (const description of [
    'A job schedule fired but Scheduler could not deliver it',
    'A scheduled or requested run that failed to start five times waits in the dead-letter queue',
    'A scheduled or requested run has waited more than 15 minutes to start',
    'The scheduled-run function failed',
    'The scheduled-run function was throttled',
  ]) {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: description });
  }
});
