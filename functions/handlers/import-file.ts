/**
 * The import Lambda. Its queue carries Transfer Family's upload events (EventBridge) and the bucket's notifications of
 * copies into `inbound/` (renames); each message is one event. Thin: parse the message, hand each arrival to the core
 * (receiveFile), log and count the outcome, and report the messages to retry.
 *
 * Crash recovery within minutes (a run killed mid-file resumes from its checkpoint, nothing lost or applied twice):
 * - The file's claim is a short lease (INTEGRATOR_IMPORT_LEASE_MS, default 2 minutes) that the run renews as it makes
 *   progress (functions/core/transfer/claim-lease.ts).
 * - The message's visibility is set down at once to INTEGRATOR_IMPORT_VISIBILITY_SECONDS (default 3 minutes: the
 *   lease and a minute of margin, so a message never comes back while its run's lease still holds) and extended by as
 *   much every third of it while the invocation handles the message. The queue's own visibility timeout cannot be
 *   that short (the Lambda event source requires at least the function timeout), hence ChangeMessageVisibility. After
 *   a crash the message is visible again within the visibility, finds the lease lapsed, retakes the claim and resumes
 *   the run. The two heartbeats say different things: the visibility that the invocation is alive (a timer: a batch
 *   slower than the lease does not bring the message back), the lease that its run makes progress (renewed between
 *   batches: a delivery that finds it lapsed may take the file over, and the stalled run stops at its next batch).
 * - A message whose processing failed has its visibility set to a short backoff (INTEGRATOR_IMPORT_RETRY_SECONDS,
 *   default 30 s, doubling with each receive, at most 15 minutes) and is returned in batchItemFailures: a transient
 *   failure is retried within minutes, and after maxReceiveCount receives the message goes to the dead-letter queue.
 *   A run that lost its claim to a later delivery (it stalled past its lease) stops and is reported failed without
 *   touching the message's visibility: the message now belongs to that delivery.
 * - When the invocation runs short of time (less than INTEGRATOR_IMPORT_RESERVE_MS, default 60 s, left), the run
 *   pauses at a checkpoint (its claim released at once) and the handler sends the same message body to the import
 *   queue again (IMPORT_QUEUE_URL, no delay): that continuation retakes the claim and resumes the run. The original
 *   message then counts as a success, so a big file takes as many invocations as it needs without using up the queue's
 *   maxReceiveCount. Only when the continuation cannot be sent (or IMPORT_QUEUE_URL is unset) is the message returned
 *   in batchItemFailures, after a short backoff.
 * - One large file across many workers (core/transfer/import-ranges.ts): after its census a file of more than
 *   INTEGRATOR_IMPORT_RANGE_ROWS rows (default 50,000; 0: never) is cut into ranges, and the handler sends one
 *   message per range (`{"importRange":...}`) to this same queue; each range message is handled like a file's (its own
 *   lease, checkpoint, pause and continuation, visibility heartbeat, backoff, dead-letter queue), and the one whose
 *   range completes the set finishes the run. Why SQS messages and not Step Functions Distributed Map: its CSV reader
 *   cannot read our encodings (UTF-16, Windows-1252, a BOM) nor quoted multi-line cells as csv/read-csv.ts does, and
 *   the queue already carries continuations, heartbeats and the DLQ with its alarm; a state machine would duplicate
 *   all three. The event source's maximum concurrency (IMPORT_QUEUE_SETTINGS.maxConcurrency) is the knob.
 * - Unreadable messages are logged and dropped (retrying cannot help); s3:TestEvent is ignored.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { configFromEnv, dynamoDbDocumentClient, s3Client } from '../adapters/aws-clients.ts';
import { diskSortScratch } from '../adapters/disk-sort.ts';
import { dynamoDbFileLedger } from '../adapters/dynamodb-files.ts';
import { dynamoDbFiringRuns } from '../adapters/dynamodb-firing-runs.ts';
import { dynamoDbJobs } from '../adapters/dynamodb-jobs.ts';
import { dynamoDbBilling, dynamoDbOrganizations } from '../adapters/dynamodb-organizations.ts';
import { dynamoDbRecords } from '../adapters/dynamodb-records.ts';
import { dynamoDbRunRanges } from '../adapters/dynamodb-run-ranges.ts';
import { dynamoDbRunLog } from '../adapters/dynamodb-runs.ts';
import { runLogWithFailureNotices } from '../adapters/failure-notices.ts';
import { integrationEventsFromEnv } from '../adapters/integration-events.ts';
import { s3FileStore } from '../adapters/s3-file-store.ts';
import { continuationsFromEnv, visibilityFromEnv } from '../adapters/sqs-continuations.ts';
import { ClaimLostError, type Continuations, type MessageVisibility, systemClock } from '../core/ports.ts';
import { openCsv } from '../core/transfer/csv/read-csv.ts';
import { parseRangeMessage, rangeMessage } from '../core/transfer/import-queue.ts';
import { DEFAULT_RANGE_ROWS } from '../core/transfer/import-ranges.ts';
import { type ReceiveDeps, type Received, receiveFile, receiveRange } from '../core/transfer/receive-file.ts';
import { randomToken } from '../core/transfer/runs.ts';
import { arrivalMessage, parseNotification } from '../core/transfer/s3-events.ts';
import { templates } from '../core/transfer/templates.ts';
import { count, logger, publishMetrics } from './observability.ts';

/** What the handler needs besides the time budget; built once per container from the environment. */
export type ImportDependencies = Omit<ReceiveDeps, 'leaseMs' | 'shouldPause' | 'hasTimeToFinish'> & {
  /** Where a paused run asks to be continued; absent: the paused message is reported as failed instead. */
  continuations?: Continuations;
  /** The visibility of the message being handled; absent: left as the queue sets it (no faster crash recovery). */
  visibility?: MessageVisibility;
};

/**
 * The adapters, configured from the environment as CDK (or the twin) sets it. `clients` replaces the SDK clients
 * (the benchmark counts the requests of an instrumented DocumentClient); the wiring stays the same.
 */
export function dependenciesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  clients: { db?: DynamoDBDocumentClient; s3?: S3Client } = {},
): ImportDependencies {
  const config = configFromEnv(env);
  const db = clients.db ?? dynamoDbDocumentClient(config);
  let sqs: SQSClient | undefined;
  const sqsClient = () => {
    sqs ??= new SQSClient({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' });
    return sqs;
  };
  const continuations = continuationsFromEnv(env, sqsClient);
  const visibility = visibilityFromEnv(env, sqsClient);
  const events = integrationEventsFromEnv(db, env);
  return {
    openCsv,
    files: s3FileStore(clients.s3 ?? s3Client(config), { env }),
    records: dynamoDbRecords(db, { env }),
    // A run ended Interrupted or Incomplete is e-mailed at once (the run watch retries what was not sent).
    runLog: runLogWithFailureNotices(dynamoDbRunLog(db, { env }), db, env, (m, f) => logger.warn(m, f)),
    firingRuns: dynamoDbFiringRuns(db, { env }),
    jobs: dynamoDbJobs(db, { env }),
    ledger: dynamoDbFileLedger(db, { env }),
    billing: dynamoDbBilling(db, { env }),
    organizations: dynamoDbOrganizations(db, { env }),
    // A file of more rows than this is cut into ranges, one message and invocation each (0: never).
    ...rangesFromEnv(env, db),
    // os.tmpdir(): /tmp in Lambda (512 MB by default: room for the census of ~20 million rows).
    scratch: diskSortScratch(),
    clock: systemClock,
    random: { token: (length) => randomToken(length, randomBytes) },
    catalog: templates,
    ...(continuations ? { continuations } : {}),
    ...(visibility ? { visibility } : {}),
    ...(events ? { events } : {}),
  };
}

/** INTEGRATOR_IMPORT_RANGE_ROWS (default 50,000; 0 turns ranges off): with no continuations, no ranges either. */
function rangesFromEnv(env: NodeJS.ProcessEnv, db: DynamoDBDocumentClient): Pick<ReceiveDeps, 'ranges' | 'rangeRows'> {
  const value = env.INTEGRATOR_IMPORT_RANGE_ROWS;
  const rangeRows = value === undefined || value === '' ? DEFAULT_RANGE_ROWS : Number(value);
  if (!env.IMPORT_QUEUE_URL || !Number.isFinite(rangeRows) || rangeRows <= 0) return {};
  return { ranges: dynamoDbRunRanges(db, { env }), rangeRows };
}

export interface ImportHandlerOptions {
  /** Defaults to the AWS adapters configured from the environment (built on first use). */
  dependencies?: () => ImportDependencies;
  /** Time kept in reserve: below it the run pauses at the next checkpoint. */
  reserveMs?: number;
  /** The claim's lease, renewed while the run makes progress (INTEGRATOR_IMPORT_LEASE_MS, default 2 minutes). */
  leaseMs?: number;
  /** The message's visibility while it is handled (INTEGRATOR_IMPORT_VISIBILITY_SECONDS, default lease + 60 s). */
  visibilitySeconds?: number;
  /** The first retry's backoff; doubles with each receive (INTEGRATOR_IMPORT_RETRY_SECONDS, default 30 s). */
  retrySeconds?: number;
  /** A checkpoint at least this often (INTEGRATOR_IMPORT_CHECKPOINT_MS, default 30 s: what a crash may redo). */
  checkpointEveryMs?: number;
  /** For tests: pause after this many batches of a run (stands in for a Lambda running out of time). */
  pauseEveryBatches?: number;
}

/** Production values; the environment variables exist so that tests can crash and recover in seconds. */
export const DEFAULT_LEASE_MS = 2 * 60_000;
const VISIBILITY_MARGIN_SECONDS = 60;
const DEFAULT_RETRY_SECONDS = 30;
const MAX_RETRY_SECONDS = 15 * 60;

/** The backoff before the `receiveCount`-th retry: base, doubled per receive, at most 15 minutes. */
export function retryBackoffSeconds(receiveCount: number, baseSeconds = DEFAULT_RETRY_SECONDS): number {
  return Math.min(MAX_RETRY_SECONDS, baseSeconds * 2 ** Math.max(0, receiveCount - 1));
}

const numberFromEnv = (name: string): number | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' || !Number.isFinite(Number(value)) ? undefined : Number(value);
};

export function createImportHandler(options: ImportHandlerOptions = {}) {
  let deps: ImportDependencies | undefined;
  const reserveMs = options.reserveMs ?? numberFromEnv('INTEGRATOR_IMPORT_RESERVE_MS') ?? 60_000;
  const leaseMs = options.leaseMs ?? numberFromEnv('INTEGRATOR_IMPORT_LEASE_MS') ?? DEFAULT_LEASE_MS;
  const visibilitySeconds =
    options.visibilitySeconds ??
    numberFromEnv('INTEGRATOR_IMPORT_VISIBILITY_SECONDS') ??
    Math.ceil(leaseMs / 1000) + VISIBILITY_MARGIN_SECONDS;
  const retrySeconds =
    options.retrySeconds ?? numberFromEnv('INTEGRATOR_IMPORT_RETRY_SECONDS') ?? DEFAULT_RETRY_SECONDS;
  const checkpointEveryMs = options.checkpointEveryMs ?? numberFromEnv('INTEGRATOR_IMPORT_CHECKPOINT_MS');

  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    deps ??= (options.dependencies ?? dependenciesFromEnv)();
    const d = deps;
    if (context) logger.addContext(context);
    const failures: string[] = [];

    /** The message stays invisible for `seconds` more; a failure to say so only costs a slower recovery. */
    const setVisibility = async (message: SQSRecord, seconds: number) => {
      if (!d.visibility) return;
      try {
        await d.visibility.change(message.receiptHandle, seconds);
      } catch (err) {
        logger.warn('the message visibility could not be changed', { seconds, error: String(err) });
      }
    };
    /** Reported failed, to come back after a backoff that grows with its receives (then the dead-letter queue). */
    const retryLater = async (message: SQSRecord) => {
      const receives = Number(message.attributes?.ApproximateReceiveCount ?? 1) || 1;
      await setVisibility(message, retryBackoffSeconds(receives, retrySeconds));
      failures.push(message.messageId);
    };

    let keepVisible: NodeJS.Timeout | undefined;
    for (const message of event.Records) {
      logger.appendKeys({ messageId: message.messageId });
      try {
        const task = parseRangeMessage(message.body);
        const parsed = task ? undefined : parseNotification(message.body);
        if (parsed?.kind === 'test_event') continue;
        if (parsed?.kind === 'unreadable') {
          logger.error('import message dropped: unreadable', { reason: parsed.reason });
          continue;
        }
        // Down from the queue's timeout (at least the function's): a crash now brings the message back in minutes.
        await setVisibility(message, visibilitySeconds);
        if (d.visibility) {
          keepVisible = setInterval(
            () => void setVisibility(message, visibilitySeconds),
            (visibilitySeconds * 1000) / 3,
          );
        }
        let next: 'next_arrival' | 'done' | 'retry' = 'next_arrival';
        // A range message is one unit of work, as an arrival is.
        const units = task ? [{ task }] : parsed!.arrivals.map((arrival) => ({ arrival }));
        for (const unit of units) {
          if ('arrival' in unit) logger.appendKeys({ s3RequestId: unit.arrival.requestId, key: unit.arrival.key });
          else logger.appendKeys({ runId: unit.task.runId, org: unit.task.org, range: unit.task.index });
          let batches = 0;
          const shouldPause = () => {
            batches++;
            if (options.pauseEveryBatches && batches % options.pauseEveryBatches === 0) return true;
            return context ? context.getRemainingTimeInMillis() < reserveMs : false;
          };
          const hasTimeToFinish = () => (context ? context.getRemainingTimeInMillis() >= reserveMs : true);
          const receiveDeps: ReceiveDeps = {
            ...d,
            leaseMs,
            shouldPause,
            hasTimeToFinish,
            ...(checkpointEveryMs !== undefined ? { checkpointEveryMs } : {}),
          };
          const received =
            'arrival' in unit
              ? await receiveFile(receiveDeps, unit.arrival)
              : await receiveRange(receiveDeps, unit.task);
          report(received);
          // One case per outcome: what becomes of the message.
          switch (received.outcome) {
            case 'ignored':
            case 'range_done':
              break;
            case 'ranged': {
              // One message per range; should one fail to go, the whole message comes back and sends them again.
              let sent = true;
              for (const t of received.tasks) sent = (await continueLater(d, rangeMessage(t))) && sent;
              if (!sent) next = 'retry';
              break;
            }
            case 'finished':
              // The lane's next file waits for its delayed look: wake it now. If that fails, the look still comes.
              if (received.wake && !(await continueLater(d, arrivalMessage(received.wake)))) {
                logger.warn('the next file of the lane waits for its delayed look', { next: received.wake.key });
              }
              break;
            case 'paused':
              // The whole body: arrivals of this message already finished are found done in the ledger and skipped.
              next = (await continueLater(d, message.body)) ? 'done' : 'retry';
              break;
            case 'waiting':
              // An earlier file of the lane is still running: a new message after a delay, not a failed receive.
              next = (await continueLater(d, message.body, { delaySeconds: received.retryAfterSeconds }))
                ? 'done'
                : 'retry';
              break;
          }
          if (next !== 'next_arrival') break;
        }
        if (next === 'retry') await retryLater(message);
      } catch (err) {
        if (err instanceof ClaimLostError) {
          // Not retried on a backoff: the delivery that took the claim over carries the run on (and owns the message
          // when it is this one, redelivered).
          logger.warn('the claim was taken over by a later delivery; this invocation stopped', { file: err.fileId });
          failures.push(message.messageId);
        } else {
          logger.error('import failed; the message will be retried', err as Error);
          await retryLater(message);
        }
      } finally {
        clearInterval(keepVisible);
        keepVisible = undefined;
        logger.removeKeys(['messageId', 's3RequestId', 'key', 'runId', 'org', 'range']);
      }
    }
    publishMetrics();
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** Sends the continuation; false (the caller falls back to a redelivery by SQS) when there is none or it failed. */
async function continueLater(
  deps: ImportDependencies,
  body: string,
  options: { delaySeconds?: number } = {},
): Promise<boolean> {
  if (!deps.continuations) {
    logger.warn('no continuation queue (IMPORT_QUEUE_URL): the paused run resumes when SQS delivers the message again');
    return false;
  }
  try {
    await deps.continuations.continueLater(body, options);
    count('RunsContinued', 1);
    return true;
  } catch (err) {
    logger.error(
      'the continuation could not be sent: the paused run resumes when SQS delivers the message again',
      err as Error,
    );
    return false;
  }
}

function report(received: Received): void {
  if (received.outcome === 'ignored') {
    logger.info('object ignored', { reason: received.reason });
    return;
  }
  if (received.outcome === 'waiting') {
    logger.info('file waits for an earlier file of its template', { ...received });
    return;
  }
  if (received.outcome === 'ranged') {
    logger.info('file cut into ranges applied in parallel; the last range finishes the run', {
      runId: received.run.runId,
      ranges: received.tasks.length,
    });
    return;
  }
  if (received.outcome === 'range_done') {
    logger.info('range applied; other ranges of the run are still at work', { runId: received.run.runId });
    return;
  }
  if (received.outcome === 'pending') {
    logger.info('file recorded pending: its job is scheduled or paused, a run of the job takes it', { ...received });
    return;
  }
  const { run } = received;
  logger.appendKeys({ runId: run.runId, org: run.org });
  const summary = {
    status: run.status,
    counts: run.counts,
    jobId: run.jobId,
    templateId: run.templateId,
    problem: run.problem?.code,
    archivedKey: run.archivedKey,
    outcomeKey: run.outcomeKey,
  };
  if (received.outcome === 'paused') {
    logger.info('run paused at a checkpoint; a continuation message resumes it', {
      ...summary,
      checkpoint: run.checkpoint,
    });
    return;
  }
  if (run.status === 'interrupted') logger.warn('run interrupted', summary);
  else logger.info('run finished', summary);
  count('RowsImported', run.counts.created + run.counts.updated);
  count('RowsFailed', run.counts.failed + run.counts.overLimit);
  count('RowsUnchanged', run.counts.unchanged);
  count('RunsInterrupted', run.status === 'interrupted' ? 1 : 0);
  count('RunsIncomplete', run.status === 'incomplete' ? 1 : 0);
}

/** The Lambda entry point. */
export const handler = createImportHandler();
