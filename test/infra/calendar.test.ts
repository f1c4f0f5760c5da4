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
  // The push function's (any organization: a system function) and the API's tenant role's (its session's own
  // organization only, test/infra/stack.test.ts).
  assert.equal(grantStatements.length, 2, 'the push function and the tenant role');
  const tenant = grantStatements.filter((st) => JSON.stringify(st.Condition).includes('EncryptionContext:org'));
  assert.equal(tenant.length, 1);
  for (const st of grantStatements.filter((x) => !tenant.includes(x))) {
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

test("the providers' OAuth clients are secrets the API and the push read; the API knows its redirect URI", () => {
  const secrets = template.findResources('AWS::SecretsManager::Secret');
  const clients = Object.entries(secrets).filter(([, r]) =>
    JSON.stringify(r).includes('OAuth client of calendar sync'),
  );
  assert.equal(clients.length, 2, 'one per provider');
  for (const [, r] of clients) {
    // Created with an empty client id, so a provider is "not configured" until an operator fills it in.
    const generate = (r as { Properties: { GenerateSecretString: Record<string, string> } }).Properties
      .GenerateSecretString;
    assert.deepEqual(JSON.parse(generate.SecretStringTemplate!), { clientId: '' });
    assert.equal(generate.GenerateStringKey, 'clientSecret');
  }
  const secretIds = clients.map(([logicalId]) => logicalId).sort();
  const apiFn = ref(stack.api.function);
  for (const fnId of [apiFn, pushFn]) {
    const variables = template.toJSON().Resources[fnId].Properties.Environment.Variables as Record<string, unknown>;
    assert.deepEqual(
      [variables.CALENDAR_GOOGLE_SECRET_ARN, variables.CALENDAR_MICROSOFT_SECRET_ARN]
        .map((v) => (v as { Ref: string }).Ref)
        .sort(),
      secretIds,
    );
    const roleId = template.toJSON().Resources[fnId].Properties.Role['Fn::GetAtt'][0] as string;
    assert.ok(actionsOf(roleId).includes('secretsmanager:GetSecretValue'), fnId);
  }
  const variables = template.toJSON().Resources[apiFn].Properties.Environment.Variables as Record<string, unknown>;
  assert.match(JSON.stringify(variables.CALENDAR_REDIRECT_URI), /\/oauth\/calendar\/callback/);
  assert.ok(variables.TENANT_CALENDAR_KEY_ARN, 'the grant key, used on the tenant session');
});
