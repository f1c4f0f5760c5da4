import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IMPORT_QUEUE_SETTINGS } from '../../functions/core/transfer/import-queue.ts';
import { TRANSFER_SOURCE, UPLOAD_COMPLETED, UPLOAD_FAILED } from '../../functions/core/transfer/transfer-events.ts';
import { HANDLER_FILES, integratorFunction } from './function.ts';
import type { Storage } from './storage.ts';

/** The longest an import may run; the queue's visibility timeout follows from it. */
export const IMPORT_TIMEOUT = Duration.seconds(IMPORT_QUEUE_SETTINGS.functionTimeoutSeconds);

/**
 * SFTP upload -> Transfer Family's upload event (EventBridge) -> queue -> import function.
 *
 * What triggers an import: Transfer Family's `SFTP Server File Upload Completed` event, which it sends only for an
 * upload the client closed; `... Upload Failed` goes to the same queue so the handler records that version as partial
 * and never imports it. S3's object-created notifications of Put, Post and CompleteMultipartUpload are NOT a trigger:
 * S3 sends them for an interrupted upload too (Transfer Family stores the part it received), and a trigger that
 * cannot tell a complete upload from a partial one could only be made safe by waiting for the OnPartialUpload
 * workflow's tag, which has no deadline. Copies stay a trigger: an SFTP rename (WinSCP's `.filepart` -> final name)
 * is an S3 copy, for which Transfer Family sends no upload event, and only a completed file is renamed. Events that
 * arrive twice (a rename of a file that also had an upload event) are harmless: the ledger claims each object
 * version once. The upload events are best-effort (not durable): the object check (the OnPartialUpload workflow's
 * tag, sftp.ts) is kept, and an upload whose event is lost is left in inbound for the sweep to find.
 *
 * Why a queue between the events and the function: a message the handler reports as failed comes back after a short
 * backoff the handler sets (ChangeMessageVisibility); after five receives it is parked in the dead-letter queue (an
 * alarm watches it) instead of being lost after Lambda's two asynchronous retries.
 *
 * Crash recovery: the queue's visibility timeout is the function timeout (the least the event source accepts); the
 * handler sets each message's visibility down to minutes and extends it while it works, and the file's claim is a
 * heartbeat lease, so the next delivery after a crash resumes the run within minutes (functions/handlers/import-file.ts).
 *
 * A file too big for one invocation: the handler pauses at a checkpoint and sends the same notification to this queue
 * again with no delay (IMPORT_QUEUE_URL, sqs:SendMessage on this queue only), so the next invocation resumes at once;
 * the original message succeeds, and pauses never count against maxReceiveCount. ChangeMessageVisibility on this
 * queue comes with the event source's consumer grant.
 */
export class ImportPipeline extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly uploadEvents: events.Rule;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: { storage: Storage; handlersDir?: string }) {
    super(scope, id);
    const { storage } = props;

    // Not the data key: S3 may only use a queue's key for this bucket (aws:SourceArn), and that condition on the
    // data key, which encrypts the bucket itself, would make key and bucket depend on each other.
    const key = new kms.Key(this, 'QueueKey', {
      description: 'Integrator: import queue (object keys are customer file names)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // Longer than the source queue's retention: a message keeps its first enqueue time when it is moved here.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Arrivals', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // Not AWS's "six times the function timeout": a live run keeps its message invisible itself, and a crashed one
      // must come back within minutes. A retry never overlaps a live run: the file's claim (a lease) prevents that.
      visibilityTimeout: Duration.seconds(IMPORT_QUEUE_SETTINGS.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: IMPORT_QUEUE_SETTINGS.maxReceiveCount },
    });

    // Transfer Family's upload events of files into inbound/ of this bucket (any server writing there: ours).
    this.uploadEvents = new events.Rule(this, 'UploadEvents', {
      description: 'Integrator: SFTP uploads into inbound/ (completed: import; failed: record as partial)',
      eventPattern: {
        source: [TRANSFER_SOURCE],
        detailType: [UPLOAD_COMPLETED, UPLOAD_FAILED],
        detail: { 'file-path': [{ prefix: `/${storage.bucket.bucketName}/inbound/` }] },
      },
      targets: [new targets.SqsQueue(this.queue)],
    });
    // Renames only (see above): an SFTP rename is a copy.
    storage.bucket.addEventNotification(s3.EventType.OBJECT_CREATED_COPY, new SqsDestination(this.queue), {
      prefix: 'inbound/',
    });
    acknowledgeNotificationsHandler(Stack.of(this));

    this.function = integratorFunction(this, 'ImportFile', {
      handlerFile: HANDLER_FILES.importFile,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'import-file',
      description: 'Imports a file that arrived under inbound/<org>/',
      timeout: IMPORT_TIMEOUT,
      // Lambda gives CPU in proportion to memory, one full vCPU at 1,769 MB. An import is CPU-bound (its profile is the
      // SDK's per-request work, one UpdateItem per changed row; it needs under 256 MB), so a full vCPU finishes it
      // sooner for about the same GB-seconds.
      memorySize: 1769,
      // The duplicate-key census sorts 21 bytes per row and spills past 8 MiB (functions/adapters/disk-sort.ts):
      // 2 GiB holds the census of a 100-million-row file (storage beyond 512 MiB is billed per GB-second, at about
      // 1/500 of the price of memory).
      ephemeralStorageMb: 2048,
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        // One file per invocation: an import may take minutes, and a batch would share one 15-minute timeout.
        batchSize: 1,
        // The handler answers with batchItemFailures, so a larger batch later only retries the files that failed.
        reportBatchItemFailures: true,
        // The knob for one file across many workers (import-ranges.ts): at most this many invocations at once, over
        // all files and ranges; each range is one message. Bounds the write rate DynamoDB sees from imports.
        maxConcurrency: IMPORT_QUEUE_SETTINGS.maxConcurrency,
      }),
    );
    // A file of more rows than this is cut into ranges applied in parallel (functions/handlers/import-file.ts).
    this.function.addEnvironment('INTEGRATOR_IMPORT_RANGE_ROWS', String(IMPORT_QUEUE_SETTINGS.rangeRows));
    // Continuations of paused runs (functions/adapters/sqs-continuations.ts). Not grantSendMessages: it adds
    // kms:ReEncrypt* and kms:GenerateDataKey*; sending to an SSE-KMS queue needs GenerateDataKey (the consumer grant
    // of the event source already gives kms:Decrypt on this key).
    this.function.addEnvironment('IMPORT_QUEUE_URL', this.queue.queueUrl);
    this.queue.grant(this.function, 'sqs:SendMessage');
    key.grant(this.function, 'kms:GenerateDataKey');
    // Exactly what the import's adapters call (functions/adapters/dynamodb-*.ts): its ledger claims and updates files,
    // reads the launched jobs, reserves records against the organization's limit, reads and upserts records, keeps
    // the run and appends its row errors (re-read for the outcome file).
    storage.grantTables(this.function, {
      Files: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Jobs: ['dynamodb:Query'],
      Organizations: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      // Records are written by PartiQL INSERT and UPDATE statements (dynamodb-records.ts); UpdateItem: the counter.
      Records: ['dynamodb:BatchGetItem', 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate', 'dynamodb:UpdateItem'],
      // PutItem: a file's ranges and their duplicate-key notes (dynamodb-run-ranges.ts).
      Runs: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      RunErrors: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
    });
    storage.grantAreas(this.function, {
      // The upload: its metadata, tags (partial uploads) and bytes, by version.
      read: ['inbound'],
      // Whether the archived copy is there (a retried run that archived before it crashed).
      exists: ['archive'],
      // The archived copy (CopyObject) and the .errors.csv beside it. Nothing is ever written in inbound or outbound.
      write: ['archive'],
      // Once archived, the original is removed by its exact version (s3-file-store's remove): a newer upload under
      // the same name is never touched. The archived copy is the record; nothing in archive or outbound is deleted.
      deleteVersions: ['inbound'],
      // Transfer Family's upload events name no version: the one an event means is found among the key's versions
      // by its ETag and end time (s3-file-store's versionOf).
      listVersions: ['inbound'],
    });
  }
}

/**
 * CDK configures bucket notifications through its own custom-resource function (one per stack), whose role carries
 * AWSLambdaBasicExecutionRole. Acknowledged on that construct only, so a managed policy anywhere else still fails.
 */
function acknowledgeNotificationsHandler(stack: Stack): void {
  const handler = stack.node.children.find((child) => child.node.id.startsWith('BucketNotificationsHandler'));
  if (!handler)
    throw new Error('the bucket notifications handler CDK creates was not found: check the acknowledgement');
  Validations.of(handler).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: "CDK's bucket-notification custom resource (runs at deploy time only); its role is not configurable.",
  });
}
