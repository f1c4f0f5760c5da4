import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HANDLER_FILES, METRICS_NAMESPACE, monitoredFunction } from './function.ts';
import type { Storage } from './storage.ts';

export interface OperationsProps {
  storage: Storage;
  alarmTopic: sns.ITopic;
  /** The notifications' sender (a domain or an address SES verifies once: the identity is created here). */
  senderAddress: string;
  /** Named in every e-mail (the API URL). */
  reportsUrl?: string;
  handlersDir?: string;
}

/** How often the run watch looks (the stall window is 10 minutes: a stalled run ends within 15). */
export const RUN_WATCH_RATE_MINUTES = 5;

/**
 * Operations: the run watch (stalled runs ended Interrupted, failures, overdue runs and missed schedules e-mailed
 * once, handlers/run-watch.ts) on an EventBridge schedule; SES sending through a configuration set, with the
 * function's permission scoped to the one identity, the configuration set and the sender address; failed
 * invocations kept in a dead-letter queue; alarms on errors, dead letters and failed notifications.
 */
export class Operations extends Construct {
  readonly function: NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly configurationSet: ses.ConfigurationSet;
  readonly identity: ses.EmailIdentity;
  readonly schedule: events.Rule;
  readonly alarms: cloudwatch.Alarm[];
  private readonly storage: Storage;
  private readonly sender: string;
  private readonly messageDomain: string;
  private readonly reportsUrl: string | undefined;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { storage } = props;
    // A failed pass is retried by the next one (the outbox makes repeats harmless); asynchronous invocations that
    // still fail are kept for an operator. They hold ids, no customer data: SQS-managed encryption.
    const monitored = monitoredFunction(this, 'RunWatch', {
      handlerFile: HANDLER_FILES.runWatch,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'run-watch',
      description: 'Integrator run watch: ends stalled runs, sends failure notifications once',
      timeout: Duration.minutes(4),
      memorySize: 512,
      alarmPrefix: 'RunWatch',
      alarmTopic: props.alarmTopic,
      descriptions: { errors: 'The run watch failed (a notification may be late)' },
      deadLetters: { holds: 'a run-watch invocation that failed for good', asyncInvoke: { retryAttempts: 2 } },
    });
    this.function = monitored.function;
    this.deadLetterQueue = monitored.deadLetterQueue;
    this.storage = storage;
    storage.grantTables(this.function, {
      // GetItem: whether a scheduled job's firing was recorded (missed-firings.ts).
      Runs: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      Files: ['dynamodb:Query'],
      // The scheduled jobs of an organization, for the missed-firing check.
      Jobs: ['dynamodb:Query'],
      // GetItem (the contacts) comes with grantNotify.
      Organizations: ['dynamodb:Scan'],
    });

    this.configurationSet = new ses.ConfigurationSet(this, 'Mail', {
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    const sender = props.senderAddress;
    const domain = sender.includes('@') ? sender.split('@')[1]! : sender;
    this.identity = new ses.EmailIdentity(this, 'Sender', {
      identity: sender.includes('@') ? ses.Identity.email(sender) : ses.Identity.domain(sender),
      configurationSet: this.configurationSet,
    });
    this.sender = sender.includes('@') ? sender : `integrator@${domain}`;
    this.messageDomain = domain;
    this.reportsUrl = props.reportsUrl;
    this.grantNotify(this.function);

    this.schedule = new events.Rule(this, 'Every5Minutes', {
      description: 'Integrator: the run watch',
      schedule: events.Schedule.rate(Duration.minutes(RUN_WATCH_RATE_MINUTES)),
      targets: [
        new targets.LambdaFunction(this.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: Duration.minutes(RUN_WATCH_RATE_MINUTES),
        }),
      ],
    });

    monitored.alarm(
      'NotificationFailures',
      'A failure notification could not be sent (retried by the next pass)',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'NotificationFailures',
        dimensionsMap: { service: 'run-watch' },
        statistic: 'Sum',
        period: Duration.minutes(15),
      }),
    );
    this.alarms = monitored.alarms;
  }

  /**
   * Lets a function send notifications itself (the run watch; the import and export functions, which e-mail a failed
   * run when they end it): the outbox (get, record, claim, mark sent; Query of its unsent index), the contacts (the
   * job's and the organization's items), SES sending as the one sender through the configuration set, and the
   * environment functions/adapters/failure-notices.ts reads.
   */
  grantNotify(fn: lambda.Function): void {
    this.storage.grantTables(fn, {
      Notifications: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      Jobs: ['dynamodb:GetItem'],
      Organizations: ['dynamodb:GetItem'],
    });
    const stack = Stack.of(this);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          `arn:aws:ses:${stack.region}:${stack.account}:identity/${this.identity.emailIdentityName}`,
          `arn:aws:ses:${stack.region}:${stack.account}:configuration-set/${this.configurationSet.configurationSetName}`,
        ],
        conditions: { StringEquals: { 'ses:FromAddress': this.sender } },
      }),
    );
    fn.addEnvironment('NOTIFY_FROM', this.sender);
    fn.addEnvironment('NOTIFY_MESSAGE_DOMAIN', this.messageDomain);
    fn.addEnvironment('SES_CONFIGURATION_SET', this.configurationSet.configurationSetName);
    if (this.reportsUrl) fn.addEnvironment('REPORTS_URL', this.reportsUrl);
  }
}
