/**
 * The job-runs queue's consumer: every message is one JobRunRequest, from a job's schedule (EventBridge Scheduler's
 * target input, `<aws.scheduler.scheduled-time>` filled in; the twin's scheduler sends the same) or from run now (the
 * API). Thin: parse, read the job, dispatch by direction (job-runs.ts `dispatchJobRun`), report.
 *
 * At least once: a firing delivered twice finds its run (its id follows from the job and the scheduled time) and only
 * sends again what it had not sent. A message that cannot be read is dropped with an error log (retrying would not
 * help); a failure while running is reported back (batchItemFailures) and retried by the queue, then dead-lettered.
 */
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { configFromEnv, dynamoDbDocumentClient } from '../adapters/aws-clients.ts';
import { dynamoDbFileLedger } from '../adapters/dynamodb-files.ts';
import { dynamoDbFiringRuns } from '../adapters/dynamodb-firing-runs.ts';
import { dynamoDbJobs } from '../adapters/dynamodb-jobs.ts';
import { eventBridgeScheduler, eventBridgeSettingsFromEnv } from '../adapters/eventbridge-scheduler.ts';
import { exportLauncherFromEnv } from '../adapters/export-run-requests.ts';
import { continuationsFromEnv } from '../adapters/sqs-continuations.ts';
import { type Clock, type ExportLauncher, type JobRepository, type JobScheduler, systemClock } from '../core/ports.ts';
import {
  dispatchJobRun,
  type ImportRunDeps,
  type JobRunRequest,
  readJobRunRequest,
  runImportJob,
} from '../core/transfer/job-runs.ts';
import type { FiringRun } from '../core/transfer/runs.ts';
import { logger } from './observability.ts';

export interface ScheduledRunDependencies extends ImportRunDeps {
  jobs: Pick<JobRepository, 'get'>;
  /**
   * Where export jobs' runs go: the export-runs queue, consumed by the export function (never run here). Absent: an
   * export job's request is logged and dropped (`no_runner`).
   */
  exports?: ExportLauncher;
  /**
   * Told after each scheduled run of a job, so the one-time schedules for daylight-saving gaps stay a year ahead of a
   * job nobody edits (eventbridge-scheduler.ts).
   */
  scheduler?: JobScheduler;
}

export function dependenciesFromEnv(env: NodeJS.ProcessEnv = process.env): ScheduledRunDependencies {
  const db = dynamoDbDocumentClient(configFromEnv(env));
  const continuations = continuationsFromEnv(env);
  if (!continuations) throw new Error('IMPORT_QUEUE_URL is not set: a scheduled run sends its files there');
  const clock: Clock = systemClock;
  const settings = eventBridgeSettingsFromEnv(env);
  const exports = exportLauncherFromEnv(env);
  return {
    ...(exports ? { exports } : {}),
    ...(settings ? { scheduler: eventBridgeScheduler(new SchedulerClient({}), settings) } : {}),
    jobs: dynamoDbJobs(db, { env }),
    ledger: dynamoDbFileLedger(db, { env }),
    firingRuns: dynamoDbFiringRuns(db, { env }),
    continuations,
    clock,
  };
}

export function createScheduledRunHandler(options: { dependencies?: () => ScheduledRunDependencies } = {}) {
  let deps: ScheduledRunDependencies | undefined;
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    deps ??= (options.dependencies ?? dependenciesFromEnv)();
    const d = deps;
    const failures: { itemIdentifier: string }[] = [];
    for (const message of event.Records) {
      logger.appendKeys({ messageId: message.messageId });
      try {
        let body: unknown;
        try {
          body = JSON.parse(message.body);
        } catch {
          body = undefined;
        }
        const read = readJobRunRequest(body);
        if (!read.ok) {
          logger.error('job run request dropped: unreadable', { reason: read.problem.message });
          continue;
        }
        const request = read.request;
        logger.appendKeys({ org: request.org, jobId: request.jobId, runId: request.runId, trigger: request.trigger });
        const job = await d.jobs.get(request.org, request.jobId);
        const exports = d.exports;
        const decision = await dispatchJobRun<Partial<FiringRun>>(job, request, {
          import: (j, r) => runImportJob(d, j, r),
          // One message per firing: the run id travels with it, so the export function exports it once.
          ...(exports ? { export: (j, r) => handExport(exports, j.org, j.jobId, r) } : {}),
        });
        if (decision.ran) {
          if (request.trigger === 'schedule' && job) await d.scheduler?.sync(job);
          const run = decision.result as Partial<FiringRun>;
          logger.info('job run started', { cutoff: request.cutoff, files: run.files?.length, status: run.status });
        } else {
          logger.warn('job run request not run', { reason: decision.reason, cutoff: request.cutoff });
        }
      } catch (err) {
        logger.error('job run failed; the message will be retried', err as Error);
        failures.push({ itemIdentifier: message.messageId });
      } finally {
        logger.removeKeys(['messageId', 'org', 'jobId', 'runId', 'trigger']);
      }
    }
    return { batchItemFailures: failures };
  };
}

/** An export job's run, handed over to the export function's queue. */
async function handExport(
  exports: ExportLauncher,
  org: string,
  jobId: string,
  request: JobRunRequest,
): Promise<Partial<FiringRun>> {
  await exports.launch({ org, jobId, trigger: request.trigger, runId: request.runId });
  return { runId: request.runId, status: 'running' };
}

export const handler = createScheduledRunHandler();
