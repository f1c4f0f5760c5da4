import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EXPORT_QUEUE_SETTINGS } from '../../functions/core/transfer/export-queue.ts';
import { HANDLER_FILES, METRICS_NAMESPACE, monitoredFunction } from './function.ts';
import { encryptedQueues } from './queues.ts';
import type { Storage } from './storage.ts';

/** The longest one export may run: 100,000 rows take seconds (npm run bench); a million well under this. */
export const EXPORT_TIMEOUT = Duration.seconds(EXPORT_QUEUE_SETTINGS.functionTimeoutSeconds);

/**
 * The export function (functions/handlers/export-run.ts), fed by the export-runs queue: the scheduled-run function
 * (an export job's firing, or run now) sends one message per run, `{ org, jobId, trigger, runId }`
 * (`grantRequests`); the function reads the system of record and writes one CSV into outbound/<org>/. The export
 * never runs inside the scheduled-run function or the API.
 *
 * Failures: the engine creates a run of the message's id once, so a redelivered message exports nothing twice; an
 * export that fails after recording its run ends it Interrupted and returns. A message whose handling failed before
 * (the job store unreachable) is reported back and received again, up to maxReceiveCount times, then moved to the
 * dead-letter queue, which an alarm watches, as do function errors, throttles, Interrupted export runs (the
 * handler's ExportRunsInterrupted metric) and the age of the oldest waiting run.
 *
 * Least privilege, exactly what its adapters call: Records (the change sequence's GetItem, the pages' Query on the
 * indexes, the people's BatchGetItem), Jobs (GetItem; UpdateItem of `lastExport`), Runs (GetItem of a redelivered
 * run, UpdateItem), RunErrors (BatchWriteItem); in S3 only outbound/: HeadObject (the free name) and the multipart
 * upload. Nothing in inbound or archive, no delete anywhere.
 */
export class Exports extends Construct {
  readonly function: NodejsFunction;
  /** The export-runs queue the function consumes. */
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly queueKey: kms.Key;
  readonly alarms: cloudwatch.Alarm[];

  constructor(
    scope: Construct,
    id: string,
    props: { storage: Storage; alarmTopic?: sns.ITopic; handlersDir?: string },
  ) {
    super(scope, id);
    const { storage } = props;

    const queues = encryptedQueues(this, 'Integrator: export-runs queues (organization, job and run ids)');
    this.queueKey = queues.key;
    const { queue } = queues;
    this.deadLetterQueue = queue('DeadLetters');
    this.queue = queue('ExportRuns', {
      visibilityTimeout: Duration.seconds(EXPORT_QUEUE_SETTINGS.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: EXPORT_QUEUE_SETTINGS.maxReceiveCount },
    });
    const monitored = monitoredFunction(this, 'ExportRun', {
      handlerFile: HANDLER_FILES.exportRun,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'export-run',
      description: 'Exports one export job to outbound/<org>/<template>_YYYYMMDD.csv',
      timeout: EXPORT_TIMEOUT,
      // Memory stays flat (a page of records and a 5 MB upload part or four in flight); CPU follows memory, and the
      // CSV work is CPU-bound.
      memorySize: 1024,
      alarmPrefix: 'Export',
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      // The queue's redrive target: a request that failed maxReceiveCount times.
      deadLetters: { queue: this.deadLetterQueue, holds: 'an export run request that failed three times' },
      descriptions: { errors: 'The export function failed', throttles: 'The export function was throttled' },
    });
    this.function = monitored.function;
    this.alarms = monitored.alarms;
    // One run per invocation: a message's failure is its own, and a long export holds no other run back.
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }));

    storage.grantTables(this.function, {
      Records: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
      Jobs: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Runs: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      RunErrors: ['dynamodb:BatchWriteItem'],
    });
    storage.grantAreas(this.function, { exists: ['outbound'], write: ['outbound'] });

    monitored.alarm(
      'ExportRunsWaiting',
      'An export run has waited over an hour to start',
      this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      3600,
    );
    monitored.alarm(
      'ExportRunsInterrupted',
      'An export run ended Interrupted (no file was written)',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'ExportRunsInterrupted',
        dimensionsMap: { service: 'export-run' },
        period: Duration.minutes(5),
        statistic: 'Sum',
      }),
    );
  }

  /**
   * Lets `grantee` hand export runs over (the scheduled-run function): sqs:SendMessage on the export-runs queue, the
   * key's GenerateDataKey (SSE-KMS sending), and EXPORT_RUNS_QUEUE_URL in its environment.
   */
  grantRequests(grantee: iam.IGrantable & { addEnvironment(key: string, value: string): unknown }): void {
    this.queue.grant(grantee, 'sqs:SendMessage');
    this.queueKey.grant(grantee, 'kms:GenerateDataKey');
    grantee.addEnvironment('EXPORT_RUNS_QUEUE_URL', this.queue.queueUrl);
  }
}
