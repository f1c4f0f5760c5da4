import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
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
    storage.grantTables(this.function, {
      Runs: ['dynamodb:Query', 'dynamodb:UpdateItem'],
      Files: ['dynamodb:Query'],
      Jobs: ['dynamodb:GetItem'],
      Organizations: ['dynamodb:Scan', 'dynamodb:GetItem'],
      Notifications: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
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
    const region = this.identity.stack.region;
    const account = this.identity.stack.account;
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          `arn:aws:ses:${region}:${account}:identity/${this.identity.emailIdentityName}`,
          `arn:aws:ses:${region}:${account}:configuration-set/${this.configurationSet.configurationSetName}`,
        ],
        conditions: { StringEquals: { 'ses:FromAddress': sender.includes('@') ? sender : `integrator@${domain}` } },
      }),
    );
    this.function.addEnvironment('NOTIFY_FROM', sender.includes('@') ? sender : `integrator@${domain}`);
    this.function.addEnvironment('NOTIFY_MESSAGE_DOMAIN', domain);
    this.function.addEnvironment('SES_CONFIGURATION_SET', this.configurationSet.configurationSetName);
    if (props.reportsUrl) this.function.addEnvironment('REPORTS_URL', props.reportsUrl);

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
}
