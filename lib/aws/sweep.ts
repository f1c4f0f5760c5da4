import { type CfnElement, Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_SWEEP_SETTLE_MS } from '../../functions/core/transfer/sweep.ts';
import { HANDLER_FILES, METRICS_NAMESPACE, monitoredFunction } from './function.ts';
import { cfnRef, type Storage } from './storage.ts';

/** How often the sweep runs: a lost event's file waits at most this long plus the settle age. */
export const SWEEP_RATE = Duration.minutes(15);

export interface SweepProps {
  storage: Storage;
  /** The import queue the sweep announces lost files on (the import pipeline's; its KMS key is used to send). */
  importQueue: sqs.Queue;
  /** Where the sweep's alarms go (the monitoring topic). */
  alarmTopic: sns.ITopic;
  handlersDir?: string;
}

/**
 * The sweep (functions/handlers/sweep.ts) on an EventBridge Scheduler schedule: every SWEEP_RATE it lists the current
 * object versions under inbound/, looks them up in the arrival ledger and puts an arrival of each settled unknown one
 * on the import queue. Least privilege: ListBucketVersions under inbound/ (no object read: the import reads the
 * file), BatchGetItem on the Files table (no write: the import claims), SendMessage on the import queue.
 *
 * Failures are not lost: the schedule retries an invocation it could not deliver and then parks it in the dead-letter
 * queue; the function's own failures (asynchronous invocation) are retried twice and then sent to the same queue. An
 * alarm watches that queue and the function's errors and throttles (lib/aws/function.ts), and one watches SweepFilesFound: each file the sweep finds is an
 * upload event that never reached the import, which an operator should hear about even though the file was imported.
 * Two sweeps overlapping (a slow one and the next) are harmless: the ledger's claim imports a version once.
 */
export class Sweep extends Construct {
  readonly function: NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedule: scheduler.Schedule;
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: SweepProps) {
    super(scope, id);
    const { storage, importQueue } = props;

    // What lands in the dead-letter queue is the schedule's own (empty) payload or the invocation record: no
    // customer data, so the SQS-managed key is enough (and lets the Scheduler service send without a key grant).
    const monitored = monitoredFunction(this, 'Sweep', {
      handlerFile: HANDLER_FILES.sweep,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'sweep',
      description: 'Finds files under inbound/ whose upload event was lost and announces them to the import queue',
      timeout: Duration.minutes(5),
      memorySize: 512,
      alarmPrefix: 'Sweep',
      alarmTopic: props.alarmTopic,
      deadLetters: {
        holds: 'a sweep that could not run (its schedule or its invocation failed for good)',
        asyncInvoke: { retryAttempts: 2, maxEventAge: Duration.hours(1) },
      },
    });
    this.function = monitored.function;
    this.deadLetterQueue = monitored.deadLetterQueue;
    this.function.addEnvironment('IMPORT_QUEUE_URL', importQueue.queueUrl);
    this.function.addEnvironment('INTEGRATOR_SWEEP_SETTLE_MS', String(DEFAULT_SWEEP_SETTLE_MS));
    // Not grantSendMessages: it adds kms:ReEncrypt* and kms:GenerateDataKey*; sending to an SSE-KMS queue needs
    // GenerateDataKey and Decrypt on its key.
    importQueue.grant(this.function, 'sqs:SendMessage');
    importQueue.encryptionMasterKey?.grant(this.function, 'kms:GenerateDataKey', 'kms:Decrypt');
    storage.grantTables(this.function, { Files: ['dynamodb:BatchGetItem'] });
    storage.grantAreas(this.function, { listVersions: ['inbound'] });

    // Its own role (not the stack-wide one LambdaInvoke would make): lambda:InvokeFunction on this function only.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Integrator sweep schedule: invokes the sweep function',
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${cfnRef(this.function.node.defaultChild as CfnElement, 'Arn')}:*]`,
      reason:
        "CDK's LambdaInvoke target grants the function's ARN and its versions (`:*`); both are this one function.",
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Integrator: compare inbound/ with the arrival ledger (files whose upload event was lost)',
      schedule: scheduler.ScheduleExpression.rate(SWEEP_RATE),
      target: new LambdaInvoke(this.function, {
        role: scheduleRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });

    monitored.alarm(
      'SweepFoundLostFiles',
      'The sweep found files whose upload event was lost (now being imported)',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'SweepFilesFound',
        dimensionsMap: { service: 'sweep' },
        period: SWEEP_RATE,
        statistic: 'Sum',
      }),
    );
    this.alarms = monitored.alarms;
  }
}
