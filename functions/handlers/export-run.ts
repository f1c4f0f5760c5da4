/**
 * The export Lambda: runs one export of one job. Invoked with `{ org, jobId, trigger? }` (asynchronously: by the
 * job's schedule, by "run now" in the API, or on the local stack by the twin); answers with the run's id, status and
 * file. Thin: load the job and its template, hand them to the core (export-engine.ts), log and count the outcome.
 *
 * A failure after the run was recorded is a value (the run Interrupted, no file), not a thrown error, so the async
 * invocation is not retried into a second file; a failure before (the job store unreachable) throws, and Lambda's
 * async retries and then the dead-letter queue take it. Logs carry ids, keys and counts only, never values.
 *
 * Environment: the Records, Jobs, Runs and RunErrors tables and the bucket (as CDK and the twin set them);
 * INTEGRATOR_EXPORT_SETTLE_MS (default export-engine.ts DEFAULT_SETTLE_MS) for the wait after the mark.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configFromEnv, dynamoDbDocumentClient, s3Client } from '../adapters/aws-clients.ts';
import { dynamoDbChangeSequence } from '../adapters/dynamodb-change-sequence.ts';
import { dynamoDbExportJobs } from '../adapters/dynamodb-export-jobs.ts';
import { dynamoDbRunLog } from '../adapters/dynamodb-runs.ts';
import { dynamoDbSystemOfRecord } from '../adapters/dynamodb-system-of-record.ts';
import { runLogWithFailureNotices } from '../adapters/failure-notices.ts';
import { s3FileStore } from '../adapters/s3-file-store.ts';
import { systemClock } from '../core/ports.ts';
import { DEFAULT_SETTLE_MS, type ExportOptions, type ExportPorts, runExport } from '../core/transfer/export-engine.ts';
import { isValidOrgId } from '../core/transfer/layout.ts';
import { randomToken } from '../core/transfer/runs.ts';
import { templates } from '../core/transfer/templates.ts';
import { count, logger, publishMetrics } from './observability.ts';

export interface ExportRunEvent {
  org: string;
  jobId: string;
  /** Who asked: `schedule`, `run_now`, ... (logged). */
  trigger?: string;
}

export interface ExportRunResult {
  runId?: string;
  status: 'completed' | 'incomplete' | 'interrupted' | 'not_found';
  key?: string;
  rows?: number;
}

export function exportDependenciesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  clients: { db?: DynamoDBDocumentClient; s3?: S3Client } = {},
): { ports: ExportPorts; options: ExportOptions } {
  const config = configFromEnv(env);
  const db = clients.db ?? dynamoDbDocumentClient(config);
  const sequence = dynamoDbChangeSequence(db, { env });
  const settle = Number(env.INTEGRATOR_EXPORT_SETTLE_MS ?? DEFAULT_SETTLE_MS);
  return {
    ports: {
      records: dynamoDbSystemOfRecord(db, { env, sequence }),
      sequence,
      files: s3FileStore(clients.s3 ?? s3Client(config), { env }),
      // A run ended Interrupted is e-mailed at once (the run watch retries what was not sent).
      runs: runLogWithFailureNotices(dynamoDbRunLog(db, { env }), db, env, (m, f) => logger.warn(m, f)),
      jobs: dynamoDbExportJobs(db, { env }),
      clock: systemClock,
      random: { token: (n) => randomToken(n, randomBytes) },
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    options: { settleMs: Number.isFinite(settle) && settle >= 0 ? settle : DEFAULT_SETTLE_MS },
  };
}

let cached: ReturnType<typeof exportDependenciesFromEnv> | undefined;

/** Runs one export with the given wiring (the handler's, the twin's, a test's). */
export async function exportOnce(
  event: ExportRunEvent,
  deps: { ports: ExportPorts; options: ExportOptions },
): Promise<ExportRunResult> {
  if (typeof event?.org !== 'string' || !isValidOrgId(event.org) || typeof event.jobId !== 'string') {
    throw new Error('an export event names { org, jobId }');
  }
  const job = await deps.ports.jobs.get(event.org, event.jobId);
  const template = job ? templates.byId(job.templateId) : undefined;
  if (!job || !template) {
    logger.warn('export job not found', { org: event.org, jobId: event.jobId, trigger: event.trigger });
    return { status: 'not_found' };
  }
  const run = await runExport(job, template, deps.ports, deps.options);
  const status = run.status === 'running' ? 'interrupted' : run.status;
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

export async function handler(event: ExportRunEvent): Promise<ExportRunResult> {
  cached ??= exportDependenciesFromEnv();
  try {
    return await exportOnce(event, cached);
  } finally {
    publishMetrics();
  }
}
