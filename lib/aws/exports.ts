import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HANDLER_FILES, integratorFunction, METRICS_NAMESPACE } from './function.ts';
import type { Storage } from './storage.ts';

/** The longest one export may run: 100,000 rows take seconds (npm run bench); a million well under this. */
export const EXPORT_TIMEOUT = Duration.minutes(15);

/**
 * The export function (functions/handlers/export-run.ts): invoked asynchronously with `{ org, jobId }` by a job's
 * schedule or by "run now"; reads the system of record, writes one CSV into outbound/<org>/.
 *
 * Failures: an export that fails after recording its run ends it Interrupted and returns (no retry, no second file);
 * an invocation that throws or times out is retried twice by Lambda (each retry is a new run with its own file
 * name, never an overwrite), then its event goes to the dead-letter queue, which an alarm watches, as do function
 * errors, throttles and Interrupted export runs (the handler's ExportRunsInterrupted metric).
 *
 * Least privilege, exactly what its adapters call: Records (the change sequence's GetItem, the pages' Query on the
 * indexes, the people's BatchGetItem), Jobs (GetItem; UpdateItem of `lastExport`), Runs (UpdateItem), RunErrors
 * (BatchWriteItem); in S3 only outbound/: HeadObject (the free name) and the multipart upload. Nothing in inbound or
 * archive, no delete anywhere.
 */
export class Exports extends Construct {
  readonly function: NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    props: { storage: Storage; alarmTopic?: sns.ITopic; handlersDir?: string },
  ) {
    super(scope, id);
    const { storage } = props;
    this.function = integratorFunction(this, 'ExportRun', {
      handlerFile: HANDLER_FILES.exportRun,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'export-run',
      description: 'Exports one export job to outbound/<org>/<template>_YYYYMMDD.csv',
      timeout: EXPORT_TIMEOUT,
      // Memory stays flat (a page of records and a 5 MB upload part or four in flight); CPU follows memory, and the
      // CSV work is CPU-bound.
      memorySize: 1024,
    });

    const key = new kms.Key(this, 'DeadLetterKey', {
      description: 'Integrator: export dead-letter queue (organization and job ids)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "It is the export function's dead-letter queue (its failed async invocations); a DLQ of a DLQ is not wanted.",
    });
    // Not SqsDestination: it grants sqs:SendMessage with kms:GenerateDataKey* and kms:ReEncrypt*; sending to an
    // SSE-KMS queue needs only kms:GenerateDataKey (and Decrypt, of the data key's use, for nothing here).
    const queue = this.deadLetterQueue;
    const toDeadLetters: lambda.IDestination = { bind: () => ({ destination: queue.queueArn }) };
    this.function.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: toDeadLetters });
    queue.grant(this.function, 'sqs:SendMessage');
    key.grant(this.function, 'kms:GenerateDataKey');

    storage.grantTables(this.function, {
      Records: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
      Jobs: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Runs: ['dynamodb:UpdateItem'],
      RunErrors: ['dynamodb:BatchWriteItem'],
    });
    storage.grantAreas(this.function, { exists: ['outbound'], write: ['outbound'] });

    const fiveMinutes = Duration.minutes(5);
    this.alarm(props.alarmTopic, 'ExportDeadLetters', 'An export failed three times; its event waits in the DLQ', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
    });
    this.alarm(props.alarmTopic, 'ExportErrors', 'The export function failed', {
      metric: this.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
    });
    this.alarm(props.alarmTopic, 'ExportThrottles', 'The export function was throttled', {
      metric: this.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
    });
    this.alarm(props.alarmTopic, 'ExportRunsInterrupted', 'An export run ended Interrupted (no file was written)', {
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'ExportRunsInterrupted',
        dimensionsMap: { service: 'export-run' },
        period: fiveMinutes,
        statistic: 'Sum',
      }),
    });
  }

  private alarm(
    topic: sns.ITopic | undefined,
    id: string,
    description: string,
    props: { metric: cloudwatch.IMetric },
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric: props.metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (topic) {
      const action = new SnsAction(topic);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms.push(alarm);
  }
}
