/**
 * The import Lambda. Its queue carries the bucket's object-created notifications for `inbound/`; each message is one
 * S3 notification. Thin: parse the message, hand each arrival to the core (receiveFile), log and count the outcome,
 * and report the messages to retry.
 *
 * - A message whose processing failed is returned in batchItemFailures: SQS delivers it again (then to the DLQ).
 *   The file's claim was released, so the retry resumes the run from its last checkpoint.
 * - When the invocation runs short of time (less than INTEGRATOR_IMPORT_RESERVE_MS, default 60 s, left), the run
 *   pauses at a checkpoint (its claim released at once) and the handler sends the same message body to the import
 *   queue again (IMPORT_QUEUE_URL, no delay): that continuation finds the file's ledger entry, retakes the claim and
 *   resumes the run from its checkpoint. The original message then counts as a success, so a big file takes as many
 *   invocations as it needs without using up the queue's maxReceiveCount or waiting out its visibility timeout.
 *   Only when the continuation cannot be sent (or IMPORT_QUEUE_URL is unset) is the message returned in
 *   batchItemFailures: SQS then redelivers it after the visibility timeout and the run resumes the same way.
 * - Unreadable messages are logged and dropped (retrying cannot help); s3:TestEvent is ignored.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { configFromEnv, dynamoDbDocumentClient, s3Client } from '../adapters/aws-clients.ts';
import { diskSortScratch } from '../adapters/disk-sort.ts';
import { dynamoDbFileLedger } from '../adapters/dynamodb-files.ts';
import { dynamoDbJobs } from '../adapters/dynamodb-jobs.ts';
import { dynamoDbBilling } from '../adapters/dynamodb-organizations.ts';
import { dynamoDbRecords } from '../adapters/dynamodb-records.ts';
import { dynamoDbRunLog } from '../adapters/dynamodb-runs.ts';
import { s3FileStore } from '../adapters/s3-file-store.ts';
import { continuationsFromEnv } from '../adapters/sqs-continuations.ts';
import { type Continuations, systemClock } from '../core/ports.ts';
import { openCsv } from '../core/transfer/csv/read-csv.ts';
import { type ReceiveDeps, type Received, receiveFile } from '../core/transfer/receive-file.ts';
import { randomToken } from '../core/transfer/runs.ts';
import { parseNotification } from '../core/transfer/s3-events.ts';
import { templates } from '../core/transfer/templates.ts';
import { count, logger, publishMetrics } from './observability.ts';

/** What the handler needs besides the time budget; built once per container from the environment. */
export type ImportDependencies = Omit<ReceiveDeps, 'leaseMs' | 'shouldPause'> & {
  /** Where a paused run asks to be continued; absent: the paused message is reported as failed instead. */
  continuations?: Continuations;
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
  const continuations = continuationsFromEnv(env);
  return {
    openCsv,
    files: s3FileStore(clients.s3 ?? s3Client(config), { env }),
    records: dynamoDbRecords(db, { env }),
    runLog: dynamoDbRunLog(db, { env }),
    jobs: dynamoDbJobs(db, { env }),
    ledger: dynamoDbFileLedger(db, { env }),
    billing: dynamoDbBilling(db, { env }),
    // os.tmpdir(): /tmp in Lambda (512 MB by default: room for the census of ~20 million rows).
    scratch: diskSortScratch(),
    clock: systemClock,
    random: { token: (length) => randomToken(length, randomBytes) },
    catalog: templates,
    ...(continuations ? { continuations } : {}),
  };
}

export interface ImportHandlerOptions {
  /** Defaults to the AWS adapters configured from the environment (built on first use). */
  dependencies?: () => ImportDependencies;
  /** Time kept in reserve: below it the run pauses at the next checkpoint. */
  reserveMs?: number;
  /** Claim lease when no Lambda context tells the remaining time (the twin, tests). */
  defaultLeaseMs?: number;
  /** For tests: pause after this many batches of a run (stands in for a Lambda running out of time). */
  pauseEveryBatches?: number;
}

const LEASE_MARGIN_MS = 60_000;

export function createImportHandler(options: ImportHandlerOptions = {}) {
  let deps: ImportDependencies | undefined;
  const reserveMs = options.reserveMs ?? Number(process.env.INTEGRATOR_IMPORT_RESERVE_MS ?? 60_000);
  const defaultLeaseMs = options.defaultLeaseMs ?? 15 * 60_000 + LEASE_MARGIN_MS;

  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    deps ??= (options.dependencies ?? dependenciesFromEnv)();
    if (context) logger.addContext(context);
    const failures: string[] = [];
    for (const message of event.Records) {
      logger.appendKeys({ messageId: message.messageId });
      try {
        const parsed = parseNotification(message.body);
        if (parsed.kind === 'test_event') continue;
        if (parsed.kind === 'unreadable') {
          logger.error('import message dropped: unreadable', { reason: parsed.reason });
          continue;
        }
        for (const arrival of parsed.arrivals) {
          logger.appendKeys({ s3RequestId: arrival.requestId, key: arrival.key });
          let batches = 0;
          const shouldPause = () => {
            batches++;
            if (options.pauseEveryBatches && batches % options.pauseEveryBatches === 0) return true;
            return context ? context.getRemainingTimeInMillis() < reserveMs : false;
          };
          const leaseMs = context ? context.getRemainingTimeInMillis() + LEASE_MARGIN_MS : defaultLeaseMs;
          const received = await receiveFile({ ...deps, leaseMs, shouldPause }, arrival);
          report(received);
          if (received.outcome === 'paused' || received.outcome === 'waiting') {
            // The whole body: arrivals of this message already finished are found done in the ledger and skipped.
            const delay = received.outcome === 'waiting' ? received.retryAfterSeconds : 0;
            if (!(await continueLater(deps, message.body, delay))) failures.push(message.messageId);
            break;
          }
        }
      } catch (err) {
        logger.error('import failed; the message will be retried', err as Error);
        failures.push(message.messageId);
      } finally {
        logger.removeKeys(['messageId', 's3RequestId', 'key', 'runId', 'org']);
      }
    }
    publishMetrics();
    return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** Sends the continuation; false (the caller falls back to a redelivery by SQS) when there is none or it failed. */
async function continueLater(deps: ImportDependencies, body: string, delaySeconds = 0): Promise<boolean> {
  if (!deps.continuations) {
    logger.warn('no continuation queue (IMPORT_QUEUE_URL): the paused run resumes when SQS delivers the message again');
    return false;
  }
  try {
    await deps.continuations.continueLater(body, delaySeconds);
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
