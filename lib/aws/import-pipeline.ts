import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HANDLER_FILES, integratorFunction } from './function.ts';
import type { Storage } from './storage.ts';

/** The longest an import may run; the queue's visibility timeout follows from it. */
export const IMPORT_TIMEOUT = Duration.minutes(15);

/**
 * Upload -> S3 event -> queue -> import function.
 *
 * Why a queue between S3 and the function: it holds each event back for 30 seconds, long enough for Transfer
 * Family's OnPartialUpload workflow (sftp.ts) to tag an interrupted upload before the handler looks at it; a message
 * the handler reports as failed comes back once its visibility timeout has passed; and after five
 * receives it is parked in the dead-letter queue (an alarm watches it) instead of being lost after Lambda's two
 * asynchronous retries.
 *
 * A file too big for one invocation: the handler pauses at a checkpoint and sends the same notification to this queue
 * again with no delay (IMPORT_QUEUE_URL, sqs:SendMessage on this queue only), so the next invocation resumes at once;
 * the original message succeeds, and pauses never count against maxReceiveCount.
 */
export class ImportPipeline extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
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
      deliveryDelay: Duration.seconds(30),
      // AWS's guidance for Lambda consumers: six times the function timeout, so a retry never overlaps a live run.
      visibilityTimeout: Duration.seconds(IMPORT_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    // Put, Post, Copy (a client's rename) and CompleteMultipartUpload: an import must never miss a way to arrive.
    storage.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new SqsDestination(this.queue), {
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
      }),
    );
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
      Records: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
      Runs: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
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
