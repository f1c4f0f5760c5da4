import { join } from 'node:path';
import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { repoPath } from './paths.ts';

/** The handler files (in functions/handlers/, each exporting `handler`) that become Lambda functions. */
export const HANDLER_FILES = {
  importFile: 'import-file.ts',
  api: 'api.ts',
  sweep: 'sweep.ts',
  runWatch: 'run-watch.ts',
  exportRun: 'export-run.ts',
  scheduledRun: 'scheduled-run.ts',
  calendarPush: 'calendar-push.ts',
  calendarResume: 'calendar-resume.ts',
  operatorApi: 'operator-api.ts',
} as const;

/** Where the handler files are: the repository's functions/handlers, unless a test points elsewhere. */
export const DEFAULT_HANDLERS_DIR = repoPath('functions/handlers');

export interface IntegratorFunctionProps {
  handlerFile: (typeof HANDLER_FILES)[keyof typeof HANDLER_FILES];
  handlersDir?: string;
  /** POWERTOOLS_SERVICE_NAME: how logs and metrics name this function. */
  serviceName: string;
  description: string;
  timeout: Duration;
  memorySize: number;
  /** /tmp; Lambda's default is 512 MiB. */
  ephemeralStorageMb?: number;
  logRetention?: logs.RetentionDays;
}

/** The Powertools metrics namespace shared by every handler. */
export const METRICS_NAMESPACE = 'Integrator';

/** How long function and access logs are kept. */
export const LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

const LOGS_KEY_ID = 'LogsKey';

/**
 * The stack's key for CloudWatch Logs (function and API access logs), made once per stack. Logs hold file names,
 * organization ids and error messages: encrypted with a key of our own, usable by CloudWatch Logs of this account
 * and region only for this account's log groups (the encryption context names the log group). Retained, like the
 * log groups: their contents stay readable after the stack is gone.
 */
export function logsKeyOf(scope: Construct): kms.Key {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(LOGS_KEY_ID);
  if (existing) return existing as kms.Key;
  const key = new kms.Key(stack, LOGS_KEY_ID, {
    description: 'Integrator: CloudWatch Logs (functions, API access logs)',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [
        'kms:Encrypt',
        'kms:Decrypt',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:GenerateDataKey',
        'kms:GenerateDataKeyWithoutPlaintext',
        'kms:DescribeKey',
      ],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  return key;
}

/**
 * The one way this project builds a Lambda function, so runtime, bundling and logging cannot drift apart between
 * handlers. Each function gets its own role and log group (KMS-encrypted, kept for LOG_RETENTION and retained with
 * the stack): the role starts with nothing but writing to that log group (no AWSLambdaBasicExecutionRole, which
 * would allow writing to every log group of the account); each construct then grants what its code calls.
 */
export function integratorFunction(scope: Construct, id: string, props: IntegratorFunctionProps): NodejsFunction {
  const group = new Construct(scope, id);
  const logGroup = new logs.LogGroup(group, 'Logs', {
    retention: props.logRetention ?? LOG_RETENTION,
    encryptionKey: logsKeyOf(scope),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(group, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Integrator ${props.serviceName} function`,
  });
  logGroup.grantWrite(role);

  const fn = new NodejsFunction(group, 'Function', {
    entry: join(props.handlersDir ?? DEFAULT_HANDLERS_DIR, props.handlerFile),
    handler: 'handler',
    projectRoot: repoPath(''),
    depsLockFilePath: repoPath('package-lock.json'),
    // Node 22 is what the twin and the tests run on (the node@22 package) and what esbuild targets below.
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    description: props.description,
    timeout: props.timeout,
    memorySize: props.memorySize,
    ...(props.ephemeralStorageMb ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMb) } : {}),
    role,
    logGroup,
    tracing: lambda.Tracing.ACTIVE,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: props.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LOG_LEVEL: 'INFO',
    },
    bundling: BUNDLING,
  });

  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (tracing: ACTIVE).',
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'Pinned to nodejs22.x on purpose: the local twin and the tests run Node 22 and esbuild targets node22.',
  });
  return fn;
}

/**
 * ESM bundles, as the sources are ESM. Some CommonJS dependencies call `require` for Node built-ins, which an ESM
 * bundle lacks: the banner defines it. The AWS SDK v3 is left to the runtime (NodejsFunction's default for Node 22).
 */
const BUNDLING = {
  minify: true,
  sourceMap: true,
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
};

export interface AlarmProps {
  description: string;
  metric: cloudwatch.IMetric;
  /** Default 1: one error, one dead letter, one throttle is worth hearing about. */
  threshold?: number;
  /** Where the alarm (and its return to OK) goes; without it the alarm exists and can be wired later. */
  topic?: sns.ITopic;
}

/**
 * The one shape of an Integrator alarm: at or above the threshold over one period, missing data is no traffic (not
 * a breach), and both ALARM and OK are sent to the topic so an operator hears when it is over.
 */
export function integratorAlarm(scope: Construct, id: string, props: AlarmProps): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: props.description,
    metric: props.metric,
    threshold: props.threshold ?? 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (props.topic) {
    const action = new SnsAction(props.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
  return alarm;
}

export interface MonitoredFunctionProps extends IntegratorFunctionProps {
  /** Names the alarms: `${alarmPrefix}Errors`, `…Throttles`, `…DeadLetters`, `…Backlog`. */
  alarmPrefix: string;
  alarmTopic?: sns.ITopic;
  deadLetters: {
    /** Construct id of the queue made here (default `DeadLetters`); kept stable so a queue holding messages stays. */
    id?: string;
    /** A queue made by the caller (e.g. the redrive target of the function's source queue, made before it). */
    queue?: sqs.Queue;
    /** Encrypts a queue made here; without it SQS-managed encryption (for queues that hold ids, no customer data). */
    encryptionKey?: kms.IKey;
    /** What lands in the queue, for its cdk-nag acknowledgement and its alarm ("A … waits in …"). */
    holds: string;
    /**
     * The function's failed asynchronous invocations go to the queue after these retries. Omitted for a function
     * fed by a queue (its redrive policy sends to the dead-letter queue instead).
     */
    asyncInvoke?: { retryAttempts: number; maxEventAge?: Duration };
  };
  /** The queue that feeds the function: alarm when its oldest message is older than maxAge. */
  sourceQueue?: { queue: sqs.IQueue; maxAge: Duration; description: string };
  /** Override the standard alarm descriptions. */
  descriptions?: { errors?: string; throttles?: string };
}

export interface MonitoredFunction {
  function: NodejsFunction;
  deadLetterQueue: sqs.Queue;
  /** Its standard alarms (errors, throttles, dead letters and, when fed by a queue, backlog); add more with alarm(). */
  alarms: cloudwatch.Alarm[];
  /** Adds an alarm of the same shape to the same topic (e.g. on a metric the handler emits). */
  alarm(id: string, description: string, metric: cloudwatch.IMetric, threshold?: number): cloudwatch.Alarm;
}

/**
 * "A Lambda function with its dead-letter queue and alarms", made one way for every background function (sweep,
 * run watch, scheduled run, export). The resources are made in `scope` under the ids they had before this helper,
 * so a deployed stack keeps its queues (and what they hold) and its log groups.
 *
 * Failed asynchronous invocations reach the queue through a plain destination and an explicit grant: not
 * SqsDestination, whose grant adds sqs:GetQueueAttributes/GetQueueUrl and, on a KMS queue, kms:ReEncrypt* and
 * kms:GenerateDataKey*; Lambda needs only sqs:SendMessage and kms:GenerateDataKey.
 */
export function monitoredFunction(scope: Construct, id: string, props: MonitoredFunctionProps): MonitoredFunction {
  const { alarmPrefix, alarmTopic, deadLetters, sourceQueue, descriptions, ...functionProps } = props;
  const fn = integratorFunction(scope, id, functionProps);

  let queue = deadLetters.queue;
  if (!queue) {
    queue = new sqs.Queue(scope, deadLetters.id ?? 'DeadLetters', {
      ...(deadLetters.encryptionKey
        ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: deadLetters.encryptionKey }
        : { encryption: sqs.QueueEncryption.SQS_MANAGED }),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `It is a dead-letter queue itself (of ${deadLetters.holds}); a dead-letter queue of dead letters is not wanted.`,
    });
  }
  if (deadLetters.asyncInvoke) {
    const target = queue;
    const destination: lambda.IDestination = { bind: () => ({ destination: target.queueArn }) };
    fn.configureAsyncInvoke({
      retryAttempts: deadLetters.asyncInvoke.retryAttempts,
      ...(deadLetters.asyncInvoke.maxEventAge ? { maxEventAge: deadLetters.asyncInvoke.maxEventAge } : {}),
      onFailure: destination,
    });
    queue.grant(fn, 'sqs:SendMessage');
    queue.encryptionMasterKey?.grant(fn, 'kms:GenerateDataKey');
  }

  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (alarmId: string, description: string, metric: cloudwatch.IMetric, threshold?: number) => {
    const made = integratorAlarm(scope, alarmId, {
      description,
      metric,
      ...(threshold === undefined ? {} : { threshold }),
      ...(alarmTopic ? { topic: alarmTopic } : {}),
    });
    alarms.push(made);
    return made;
  };
  const fiveMinutes = Duration.minutes(5);
  alarm(
    `${alarmPrefix}Errors`,
    descriptions?.errors ?? `The ${props.serviceName} function failed`,
    fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
  );
  alarm(
    `${alarmPrefix}Throttles`,
    descriptions?.throttles ?? `The ${props.serviceName} function was throttled`,
    fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
  );
  alarm(
    `${alarmPrefix}DeadLetters`,
    `${deadLetters.holds[0]!.toUpperCase()}${deadLetters.holds.slice(1)} waits in the dead-letter queue`,
    queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
  );
  if (sourceQueue) {
    alarm(
      `${alarmPrefix}Backlog`,
      sourceQueue.description,
      sourceQueue.queue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' }),
      sourceQueue.maxAge.toSeconds(),
    );
  }
  return { function: fn, deadLetterQueue: queue, alarms, alarm };
}
