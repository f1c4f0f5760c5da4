/**
 * The export Lambda: the export-runs queue's consumer. Each message is one export run, `{ org, jobId, trigger, runId }`
 * (export-run-requests.ts), sent by the scheduled-run function for an export job's firing or run-now request; on the
 * local stack the twin's durable queue delivers the same messages. Thin: load the job and its template, hand them to
 * the core (export-engine.ts), log and count the outcome.
 *
 * Once per message, however often it is delivered: the run's id comes with the request and the engine creates a run
 * of that id only once, so a redelivery answers with the stored run and writes no second file. A failure after the
 * run was recorded is a value (the run Interrupted, no file), not an error to retry; a failure before (the job store
 * unreachable) is reported back (batchItemFailures), retried by the queue and then dead-lettered. Logs carry ids,
 * keys and counts only, never values.
 *
 * Environment: the Records, Jobs, Runs and RunErrors tables and the bucket (as CDK and the twin set them);
 * INTEGRATOR_EXPORT_SETTLE_MS (default export-engine.ts DEFAULT_SETTLE_MS) for the wait after the mark.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { configFromEnv, dynamoDbDocumentClient, s3Client } from '../adapters/aws-clients.ts';
import { dynamoDbChangeSequence } from '../adapters/dynamodb-change-sequence.ts';
import { dynamoDbJobs } from '../adapters/dynamodb-jobs.ts';
import { dynamoDbOrganizations } from '../adapters/dynamodb-organizations.ts';
import { dynamoDbRunLog } from '../adapters/dynamodb-runs.ts';
import { dynamoDbSystemOfRecord } from '../adapters/dynamodb-system-of-record.ts';
import { runLogWithFailureNotices } from '../adapters/failure-notices.ts';
import { integrationEventsFromEnv } from '../adapters/integration-events.ts';
import { s3FileStore } from '../adapters/s3-file-store.ts';
import { eventsOfEndedRun } from '../core/integration-events.ts';
import { type ExportRunRequest, type IntegrationEvents, type OrganizationStore, systemClock } from '../core/ports.ts';
import { DEFAULT_SETTLE_MS, type ExportOptions, type ExportPorts, runExport } from '../core/transfer/export-engine.ts';
import { isValidOrgId } from '../core/transfer/layout.ts';
import { randomToken } from '../core/transfer/runs.ts';
import { templates } from '../core/transfer/templates.ts';
import { count, logger, publishMetrics } from './observability.ts';

export type ExportRunEvent = Omit<ExportRunRequest, 'trigger'> & {
  /** Who asked: `schedule`, `manual` (recorded on the run), `cli` (logged). */
  trigger?: string;
};

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface ExportRunResult {
  runId?: string;
  status: 'completed' | 'incomplete' | 'interrupted' | 'not_found' | 'suspended';
  key?: string;
  rows?: number;
}

export interface ExportDependencies {
  ports: ExportPorts;
  options: ExportOptions;
  events?: IntegrationEvents;
  /** A suspended organization exports nothing (its data stays as it is until it is resumed). */
  organizations?: Pick<OrganizationStore, 'get'>;
}

export function exportDependenciesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  clients: { db?: DynamoDBDocumentClient; s3?: S3Client } = {},
): ExportDependencies {
  const config = configFromEnv(env);
  const db = clients.db ?? dynamoDbDocumentClient(config);
  const sequence = dynamoDbChangeSequence(db, { env });
  const settle = Number(env.INTEGRATOR_EXPORT_SETTLE_MS ?? DEFAULT_SETTLE_MS);
  const events = integrationEventsFromEnv(db, env);
  return {
    ...(events ? { events } : {}),
    organizations: dynamoDbOrganizations(db, { env }),
    ports: {
      records: dynamoDbSystemOfRecord(db, { env, sequence }),
      sequence,
      files: s3FileStore(clients.s3 ?? s3Client(config), { env }),
      // A run ended Interrupted is e-mailed at once (the run watch retries what was not sent).
      runs: runLogWithFailureNotices(dynamoDbRunLog(db, { env }), db, env, (m, f) => logger.warn(m, f)),
      jobs: dynamoDbJobs(db, { env }),
      clock: systemClock,
      random: { token: (n) => randomToken(n, randomBytes) },
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    options: { settleMs: Number.isFinite(settle) && settle >= 0 ? settle : DEFAULT_SETTLE_MS },
  };
}

/** Runs one export with the given wiring (the handler's, the twin's, a test's). */
export async function exportOnce(event: ExportRunEvent, deps: ExportDependencies): Promise<ExportRunResult> {
  if (typeof event?.org !== 'string' || !isValidOrgId(event.org) || typeof event.jobId !== 'string') {
    throw new Error('an export event names { org, jobId }');
  }
  if (event.runId !== undefined && (typeof event.runId !== 'string' || !RUN_ID.test(event.runId))) {
    throw new Error("an export event's runId is 1 to 128 letters, digits, - or _");
  }
  if ((await deps.organizations?.get(event.org))?.status === 'suspended') {
    // Consumed, not retried: the firing is skipped, as the organization's imports are refused; nothing is lost.
    logger.warn('export skipped: the organization is suspended', { org: event.org, jobId: event.jobId });
    count('ExportRunsSkippedSuspended', 1);
    return { status: 'suspended' };
  }
  const stored = await deps.ports.jobs.get(event.org, event.jobId);
  const job = stored?.direction === 'export' ? stored : undefined;
  const template = job ? templates.byId(job.templateId) : undefined;
  if (!job || !template) {
    logger.warn('export job not found', { org: event.org, jobId: event.jobId, trigger: event.trigger });
    return { status: 'not_found' };
  }
  const trigger = event.trigger === 'schedule' || event.trigger === 'manual' ? event.trigger : undefined;
  const run = await runExport(job, template, deps.ports, {
    ...deps.options,
    ...(event.runId ? { runId: event.runId } : {}),
    ...(trigger ? { trigger } : {}),
  });
  const status = run.status === 'running' ? 'interrupted' : run.status;
  // Not thrown: a retried invocation would write a second file (the run watch publishes a failed run's events again).
  await deps.events?.publish(eventsOfEndedRun(run)).catch((err) => {
    logger.error('integration events not published', err as Error);
    count('IntegrationEventsNotPublished', 1);
  });
  logger.info('export run ended', {
    org: run.org,
    runId: run.runId,
    jobId: job.jobId,
    templateId: template.id,
    trigger: event.trigger,
    status,
    key: run.file.key,
    rows: run.exported?.rows,
    records: run.exported?.records,
    failed: run.exported?.failed,
    ...(run.problem ? { problem: run.problem.code } : {}),
  });
  count('ExportRuns', 1);
  count('ExportRowsWritten', run.exported?.rows ?? 0);
  count('ExportRowsFailed', run.exported?.failed ?? 0);
  if (status === 'interrupted') count('ExportRunsInterrupted', 1);
  return { runId: run.runId, status, key: run.file.key, rows: run.exported?.rows ?? 0 };
}

/** The queue consumer (batch size 1 in CDK; any size works: each message is its own run). */
export function createExportRunHandler(
  options: { dependencies?: () => ReturnType<typeof exportDependenciesFromEnv> } = {},
) {
  let cached: ReturnType<typeof exportDependenciesFromEnv> | undefined;
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    cached ??= (options.dependencies ?? exportDependenciesFromEnv)();
    const failures: { itemIdentifier: string }[] = [];
    try {
      for (const message of event.Records) {
        let body: unknown;
        try {
          body = JSON.parse(message.body);
        } catch {
          body = undefined;
        }
        const request = body as ExportRunEvent;
        if (
          typeof request !== 'object' ||
          request === null ||
          typeof request.org !== 'string' ||
          !isValidOrgId(request.org) ||
          typeof request.jobId !== 'string' ||
          typeof request.runId !== 'string' ||
          !RUN_ID.test(request.runId)
        ) {
          // Retrying cannot make it readable: dropped, with an error log (no values).
          logger.error('export run request dropped: unreadable', { messageId: message.messageId });
          continue;
        }
        try {
          await exportOnce(request, cached);
        } catch (err) {
          logger.error('export run failed before it was recorded; the message will be retried', err as Error);
          failures.push({ itemIdentifier: message.messageId });
        }
      }
    } finally {
      publishMetrics();
    }
    return { batchItemFailures: failures };
  };
}

export const handler = createExportRunHandler();
