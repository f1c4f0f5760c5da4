import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HANDLER_FILES, monitoredFunction } from './function.ts';
import type { ImportPipeline } from './import-pipeline.ts';
import { encryptedQueues } from './queues.ts';
import type { Storage } from './storage.ts';

/**
 * Per-job schedules: EventBridge Scheduler -> job-runs queue -> scheduled-run function (functions/handlers/
 * scheduled-run.ts), and run now (the API) -> the same queue.
 *
 * - The schedule group holds every job's schedules; the API creates, changes and deletes them with the job
 *   (functions/adapters/eventbridge-scheduler.ts), and may touch no schedule outside the group.
 * - Scheduler assumes its own role, which may only send to the job-runs queue and its own dead-letter queue (and use
 *   their key), and only for schedules of this account (aws:SourceAccount).
 * - The schedule target's dead-letter queue holds firings Scheduler could not deliver; an alarm watches it. The
 *   job-runs queue has its dead-letter queue for requests the function failed five times; an alarm watches that too.
 */
export class Schedules extends Construct {
  readonly group: scheduler.CfnScheduleGroup;
  readonly groupName: string;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly targetDeadLetterQueue: sqs.Queue;
  readonly schedulerRole: iam.Role;
  readonly function: NodejsFunction;
  readonly alarms: cloudwatch.Alarm[];
  /** Encrypts the job-runs queues (organization and job ids, no customer data). */
  readonly queueKey: kms.Key;

  constructor(
    scope: Construct,
    id: string,
    props: { storage: Storage; importPipeline: ImportPipeline; alarmTopic: sns.ITopic; handlersDir?: string },
  ) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = `${stack.stackName}-jobs`;
    this.group = new scheduler.CfnScheduleGroup(this, 'Group', { name: this.groupName });

    const queues = encryptedQueues(this, 'Integrator: job-runs queues (organization and job ids)');
    this.queueKey = queues.key;
    const { queue } = queues;
    this.deadLetterQueue = queue('DeadLetters');
    // Read by the run watch (deliverMissedFiringsTo): visible again only after the longest run-watch invocation.
    this.targetDeadLetterQueue = queue('ScheduleDeadLetters', { visibilityTimeout: Duration.minutes(6) });
    Validations.of(this.targetDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "It is a dead-letter queue: the Scheduler target's (DeadLetterConfig of every job schedule), which cdk-nag cannot see because the schedules are created at run time.",
    });
    this.queue = queue('JobRuns', {
      // A run request takes seconds: it records the run and hands its files to the import queue.
      visibilityTimeout: Duration.minutes(2),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler to deliver job schedules to the job-runs queue',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    this.queue.grant(this.schedulerRole, 'sqs:SendMessage');
    this.targetDeadLetterQueue.grant(this.schedulerRole, 'sqs:SendMessage');
    this.queueKey.grant(this.schedulerRole, 'kms:GenerateDataKey', 'kms:Decrypt');

    const monitored = monitoredFunction(this, 'ScheduledRun', {
      handlerFile: HANDLER_FILES.scheduledRun,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'scheduled-run',
      description: "Starts a job's scheduled or requested run: takes its pending files before the cut-off",
      timeout: Duration.minutes(1),
      memorySize: 512,
      alarmPrefix: 'ScheduledRun',
      alarmTopic: props.alarmTopic,
      // The job-runs queue's redrive target: a request the function failed five times.
      deadLetters: {
        queue: this.deadLetterQueue,
        holds: 'a scheduled or requested run that failed to start five times',
      },
      sourceQueue: {
        queue: this.queue,
        maxAge: Duration.minutes(15),
        description: 'A scheduled or requested run has waited more than 15 minutes to start',
      },
    });
    this.function = monitored.function;
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }));
    // The taken files go to the import queue as arrivals.
    this.function.addEnvironment('IMPORT_QUEUE_URL', props.importPipeline.queue.queueUrl);
    props.importPipeline.queue.grant(this.function, 'sqs:SendMessage');
    props.importPipeline.queue.encryptionMasterKey?.grant(this.function, 'kms:GenerateDataKey');
    props.storage.grantTables(this.function, {
      // Pending files (Query), taken (UpdateItem); lane numbers (a transaction of Get/Put/Update).
      Files: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      Jobs: ['dynamodb:GetItem'],
      // The run of the firing: created once (conditional put), updated.
      Runs: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    });
    // After a scheduled run it tops up the job's one-time schedules for daylight-saving gaps.
    this.grantManage(this.function);

    monitored.alarm(
      'ScheduleDeadLettersAlarm',
      'A job schedule fired but Scheduler could not deliver it',
      this.targetDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
    );
    this.alarms = monitored.alarms;
  }

  /**
   * Lets a function keep job schedules (eventbridge-scheduler.ts) in this group only, pass the Scheduler role to them,
   * and send run-now requests; sets the environment the adapters read.
   */
  grantManage(fn: lambda.Function): void {
    const stack = Stack.of(this);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'scheduler:CreateSchedule',
          'scheduler:UpdateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
        ],
        resources: [
          stack.formatArn({
            service: 'scheduler',
            resource: 'schedule',
            resourceName: `${this.groupName}/*`,
          }),
        ],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        // ListSchedules takes no resource (filtered by GroupName in the call).
        actions: ['scheduler:ListSchedules'],
        resources: ['*'],
      }),
    );
    const policy = fn.role?.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error(`no default policy on ${fn.node.path}: check the acknowledgement`);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${this.groupName}/*]`,
      reason:
        "Job schedules are created at run time, one per job, so their names are not known at deploy time; the wildcard is confined to this stack's schedule group.",
    });
    this.schedulerRole.grantPassRole(fn.grantPrincipal);
    this.queue.grant(fn, 'sqs:SendMessage');
    this.queueKey.grant(fn, 'kms:GenerateDataKey');
    fn.addEnvironment('SCHEDULE_GROUP', this.groupName);
    fn.addEnvironment('JOB_RUNS_QUEUE_ARN', this.queue.queueArn);
    fn.addEnvironment('JOB_RUNS_QUEUE_URL', this.queue.queueUrl);
    fn.addEnvironment('SCHEDULER_ROLE_ARN', this.schedulerRole.roleArn);
    fn.addEnvironment('SCHEDULER_DLQ_ARN', this.targetDeadLetterQueue.queueArn);
  }

  /**
   * The firings Scheduler could not deliver reach `fn` (the run watch), which turns each into one schedule_missed
   * notification (functions/core/transfer/missed-firings.ts): the target dead-letter queue as its event source, with
   * the key's Decrypt to read it.
   */
  deliverMissedFiringsTo(fn: lambda.Function): void {
    fn.addEventSource(new SqsEventSource(this.targetDeadLetterQueue, { batchSize: 10, reportBatchItemFailures: true }));
    this.queueKey.grant(fn, 'kms:Decrypt');
  }
}
