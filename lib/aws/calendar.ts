import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PROVIDER_SECRET_ENV } from '../../functions/core/calendar/provider.ts';
import { MAX_PUSH_ATTEMPTS } from '../../functions/core/calendar/push.ts';
import type { Api } from './api.ts';
import { HANDLER_FILES, integratorFunction, METRICS_NAMESPACE } from './function.ts';
import type { Operations } from './operations.ts';
import type { Storage } from './storage.ts';

export interface CalendarProps {
  storage: Storage;
  api: Api;
  operations: Operations;
  /** The notices' sender, as the operations construct verifies it. */
  senderAddress: string;
  alarmTopic: sns.ITopic;
  handlersDir?: string;
}

/**
 * Calendar sync (issue 14) in AWS:
 * - the grant vault's key: a customer-managed KMS key used only for GenerateDataKey/Decrypt of calendar grants,
 *   with the organization and connection as encryption context (functions/adapters/calendar-grant-vault.ts);
 * - the push Lambda (functions/handlers/calendar-push.ts) on the CalendarEvents table's stream: in order per
 *   shard, partial batch failures reported (the failed record and those after it come again), retried up to 10
 *   times within a day, then the batch's description goes to the on-failure destination (the dead-letter queue).
 *   A push that keeps failing is parked by the handler itself after MAX_PUSH_ATTEMPTS, well before that;
 * - alarms: anything in the dead-letter queue, the function's errors, the stream falling behind (iterator age);
 * - the OAuth callback route (GET /oauth/calendar/callback) on the HTTP API without the JWT authorizer: the
 *   provider's redirect carries no token; the state kept server-side (ten minutes, used once) authenticates it;
 * - the providers' OAuth clients as Secrets Manager secrets, read by the API and the push;
 * - the API's calendar routes on its tenant sessions (the key usable with the session's organization only).
 */
export class Calendar extends Construct {
  readonly key: kms.Key;
  readonly pushFunction: NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly providerSecrets: Partial<Record<'google' | 'microsoft', secretsmanager.Secret>> = {};

  constructor(scope: Construct, id: string, props: CalendarProps) {
    super(scope, id);
    const { storage } = props;

    this.key = new kms.Key(this, 'GrantKey', {
      description: 'Integrator: calendar OAuth grants (envelope encryption of refresh tokens and token caches)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // What lands here is the event source's description of a failed batch (shard, sequence numbers), not the
    // records: no customer data, so the SQS-managed key suffices.
    this.deadLetterQueue = new sqs.Queue(this, 'PushDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself the dead-letter queue (on-failure destination) of the calendar push's stream.",
    });

    this.pushFunction = integratorFunction(this, 'Push', {
      handlerFile: HANDLER_FILES.calendarPush,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'calendar-push',
      description: 'Pushes our calendar events to Microsoft 365 and Google Calendar (CalendarEvents stream)',
      timeout: Duration.minutes(2),
      memorySize: 512,
    });
    const fn = this.pushFunction;
    fn.addEventSource(
      new DynamoEventSource(storage.tables.get('CalendarEvents')!, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 25,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        // The handler parks a change after MAX_PUSH_ATTEMPTS; these bounds only catch the handler's own failures.
        retryAttempts: Math.max(10, MAX_PUSH_ATTEMPTS * 2),
        maxRecordAge: Duration.days(1),
        bisectBatchOnError: false,
        parallelizationFactor: 1,
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );
    storage.grantTables(fn, {
      CalendarEvents: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      CalendarConnections: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      CalendarLinks: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      CalendarGrants: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      Notifications: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    });
    this.grantVault(fn);

    // The re-authentication notice goes out through the operations construct's SES identity and configuration set.
    const { identity, configurationSet } = props.operations;
    const stack = identity.stack;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          `arn:aws:ses:${stack.region}:${stack.account}:identity/${identity.emailIdentityName}`,
          `arn:aws:ses:${stack.region}:${stack.account}:configuration-set/${configurationSet.configurationSetName}`,
        ],
        conditions: { StringEquals: { 'ses:FromAddress': props.senderAddress } },
      }),
    );
    fn.addEnvironment('NOTIFY_FROM', props.senderAddress);
    fn.addEnvironment('NOTIFY_MESSAGE_DOMAIN', props.senderAddress.split('@').at(-1)!);
    fn.addEnvironment('SES_CONFIGURATION_SET', configurationSet.configurationSetName);

    // The OAuth callback: no JWT (the provider's redirect has none); the kept state authenticates it.
    const [callback] = props.api.httpApi.addRoutes({
      path: '/oauth/calendar/callback',
      methods: [apigw.HttpMethod.GET],
      integration: new HttpLambdaIntegration('CalendarCallback', props.api.function),
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    Validations.of(callback!).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The OAuth 2.0 redirect from Microsoft and Google carries no bearer token; it is authenticated by the state kept server-side (random, ten minutes, used once) and PKCE.',
    });
    // The API's calendar routes run on the tenant session (lib/aws/api.ts: the calendar tables keyed by the
    // organization, this key with the organization as encryption context); the callback's redirect URI.
    props.api.grantCalendarKey(this.key);
    props.api.function.addEnvironment(
      'CALENDAR_REDIRECT_URI',
      `${props.api.httpApi.apiEndpoint}/oauth/calendar/callback`,
    );

    // Each provider's OAuth client (the app registered with Google Cloud / Microsoft Entra ID), created with an empty
    // client id: an operator puts {"clientId", "clientSecret"} in (README); until then that provider is reported as
    // not configured (functions/adapters/calendar-provider-secrets.ts). Read by the API (sign-in, callback,
    // disconnect) and the push.
    for (const provider of ['google', 'microsoft'] as const) {
      const title = provider === 'google' ? 'Google Calendar' : 'Microsoft 365 (Graph)';
      const secret = new secretsmanager.Secret(this, `${provider === 'google' ? 'Google' : 'Microsoft'}Client`, {
        description: `Integrator: the ${title} OAuth client of calendar sync, as {"clientId": "...", "clientSecret": "..."}`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ clientId: '' }),
          generateStringKey: 'clientSecret',
        },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: `An OAuth client secret is issued by ${title}'s app registration, not by AWS: it is rotated there and put here by an operator, so Secrets Manager rotation has nothing to rotate.`,
      });
      for (const reader of [props.api.function, fn]) {
        secret.grantRead(reader);
        reader.addEnvironment(PROVIDER_SECRET_ENV[provider], secret.secretArn);
      }
      this.providerSecrets[provider] = secret;
      new CfnOutput(Stack.of(this), `${provider === 'google' ? 'Google' : 'Microsoft'}ClientSecretArn`, {
        value: secret.secretArn,
        description: `Put the ${title} OAuth client here: {"clientId": "...", "clientSecret": "..."}`,
      });
    }

    const fiveMinutes = Duration.minutes(5);
    this.alarm('PushDeadLettersAlarm', 'Calendar pushes the handler could not process (see the dead-letter queue)', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });
    this.alarm('PushErrors', 'The calendar push function failed', {
      metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
    });
    this.alarm('PushFallingBehind', 'The calendar push is more than 15 minutes behind our writes', {
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'IteratorAge',
        dimensionsMap: { FunctionName: fn.functionName },
        period: fiveMinutes,
        statistic: 'Maximum',
      }),
      threshold: 15 * 60 * 1000,
    });
    // A parked push needs a person (the API lists it: GET /v1/calendar/parked); one is worth an operator's look.
    this.alarm('PushParked', 'A calendar push was parked (refused for good by the provider; see /v1/calendar/parked)', {
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'CalendarPushParked',
        dimensionsMap: { service: 'calendar-push' },
        period: fiveMinutes,
        statistic: 'Sum',
      }),
      threshold: 1,
    });
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(new SnsAction(props.alarmTopic));
      alarm.addOkAction(new SnsAction(props.alarmTopic));
    }
  }

  /** GenerateDataKey and Decrypt on the grant key, only with a calendar-grant encryption context. */
  private grantVault(fn: lambda.Function): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:purpose': 'calendar-grant' } },
      }),
    );
    fn.addEnvironment('CALENDAR_KEY_ARN', this.key.keyArn);
  }

  private alarm(id: string, description: string, props: { metric: cloudwatch.IMetric; threshold: number }): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric: props.metric,
        threshold: props.threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
