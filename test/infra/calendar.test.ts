/**
 * Calendar sync's infrastructure (lib/aws/calendar.ts): the push function on the CalendarEvents stream with partial
 * batch failures and an on-failure dead-letter queue, the stream with both images, exactly the table actions its
 * adapters call, the grant key used only with a calendar-grant context, alarms, and the OAuth callback route.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { cdkFeatureFlags, roleActions, stubHandlersDir } from '../support/cdk-test-app.ts';

const handlersDir = stubHandlersDir();
const app = new App({ context: { ...cdkFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
const stack = new IntegratorStack(app, 'CalendarTest', { organizations: [], handlersDir });
const template = Template.fromStack(stack);
const ref = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);

const pushFn = ref(stack.calendar.pushFunction);
const dlq = ref(stack.calendar.deadLetterQueue);

const actionsOf = (roleId: string) => roleActions(template, roleId);

test('the events table has a stream with old and new images', () => {
  template.hasResourceProperties('AWS::DynamoDB::Table', {
    KeySchema: [
      { AttributeName: 'org', KeyType: 'HASH' },
      { AttributeName: 'eventId', KeyType: 'RANGE' },
    ],
    StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
  });
});

test('the push function reads the stream in order, reports partial failures, and parks failed batches in its DLQ', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: pushFn },
    StartingPosition: 'TRIM_HORIZON',
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BisectBatchOnFunctionError: false,
    ParallelizationFactor: 1,
    MaximumRetryAttempts: 10,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
  });
});

test('the push role: exactly the item actions its adapters call, the stream, the grant key with its context, SES', () => {
  const actions = actionsOf(ref(stack.calendar.pushFunction.role as never));
  for (const a of [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ]) {
    assert.ok(actions.includes(a), a);
  }
  for (const a of [
    'dynamodb:GetRecords',
    'dynamodb:GetShardIterator',
    'kms:GenerateDataKey',
    'kms:Decrypt',
    'ses:SendEmail',
  ]) {
    assert.ok(actions.includes(a), a);
  }
  assert.ok(!actions.includes('dynamodb:Scan'));
  assert.ok(!actions.some((a) => a.endsWith('*') && a.startsWith('dynamodb')), actions.join(', '));
  const grantStatements = Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument
          .Statement,
    )
    .filter((st) => JSON.stringify(st).includes('calendar-grant'));
  assert.equal(grantStatements.length, 1, 'the push function');
  for (const st of grantStatements) {
    assert.deepEqual(st.Action, ['kms:Decrypt', 'kms:GenerateDataKey']);
    assert.deepEqual(st.Condition, { StringEquals: { 'kms:EncryptionContext:purpose': 'calendar-grant' } });
    assert.match(JSON.stringify(st.Resource), new RegExp(ref(stack.calendar.key)));
  }
  template.hasResourceProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({ CALENDAR_KEY_ARN: Match.anyValue(), TABLE_CALENDAR_EVENTS: Match.anyValue() }),
    },
  });
});

test('alarms on dead letters, errors, iterator age and parked pushes go to the alarm topic', () => {
  for (const metric of ['ApproximateNumberOfMessagesVisible', 'Errors', 'IteratorAge', 'CalendarPushParked']) {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metric,
      AlarmActions: [{ Ref: ref(stack.monitoring.topic) }],
      Dimensions: Match.anyValue(),
    });
  }
});

test('the OAuth callback route has no JWT authorizer; the rest of the API keeps it', () => {
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: 'GET /oauth/calendar/callback',
    AuthorizationType: 'NONE',
  });
  template.hasResourceProperties('AWS::KMS::Key', {
    EnableKeyRotation: true,
    Description: Match.stringLikeRegexp('calendar'),
  });
});
