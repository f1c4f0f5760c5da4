/**
 * The calendar resume check's infrastructure (lib/aws/calendar-resume.ts): a schedule every 15 minutes invoking its
 * function, with retries and a dead-letter queue; the function may query the connections (the byPause index), read
 * and write a connection and write the flush marker, nothing more: no provider secret, no grant key, no mail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { cdkFeatureFlags, roleActions, stubHandlersDir } from '../support/cdk-test-app.ts';

const app = new App({ context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
const stack = new IntegratorStack(app, 'ResumeTest', { organizations: [], handlersDir: stubHandlersDir() });
const template = Template.fromStack(stack);
const ref = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
const resumeFn = ref(stack.calendarResume.function);

test('a schedule every 15 minutes invokes the resume check, with retries and a dead-letter queue', () => {
  template.hasResourceProperties('AWS::Scheduler::Schedule', {
    ScheduleExpression: 'rate(15 minutes)',
    Target: {
      Arn: { 'Fn::GetAtt': [resumeFn, 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ref(stack.calendarResume.deadLetterQueue), 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
    },
  });
});

test('it may query the paused connections, lift a pause and write the flush marker: nothing more', () => {
  const actions = roleActions(template, ref(stack.calendarResume.function.role as never));
  assert.deepEqual(
    actions.filter((a) => a.startsWith('dynamodb:')),
    ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  );
  assert.ok(!actions.some((a) => a.startsWith('secretsmanager:') || a.startsWith('ses:')));
  const connections = ref(stack.storage.tables.get('CalendarConnections')!);
  template.hasResourceProperties('AWS::IAM::Policy', {
    Roles: Match.arrayWith([{ Ref: ref(stack.calendarResume.function.role as never) }]),
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          Resource: [
            { 'Fn::GetAtt': [connections, 'Arn'] },
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': [connections, 'Arn'] }, '/index/byPause']] },
          ],
        }),
        Match.objectLike({
          Action: 'dynamodb:PutItem',
          Resource: { 'Fn::GetAtt': [ref(stack.storage.tables.get('CalendarEvents')!), 'Arn'] },
        }),
      ]),
    },
  });
  const fn = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('calendar quota pauses') },
  });
  const vars = (Object.values(fn)[0] as { Properties: { Environment: { Variables: Record<string, unknown> } } })
    .Properties.Environment.Variables;
  assert.deepEqual(
    Object.keys(vars)
      .filter((k) => k.startsWith('TABLE_'))
      .sort(),
    ['TABLE_CALENDAR_CONNECTIONS', 'TABLE_CALENDAR_EVENTS'],
  );
});
