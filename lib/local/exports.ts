/**
 * Exports on the local stack: the export-runs queue (the twin's durable LocalQueue, with the AWS queue's settings)
 * consumed by the very export handler the Lambda runs (functions/handlers/export-run.ts), as SQS feeds the export
 * function in AWS. The scheduled-run handler hands export runs to it (EXPORT_RUNS_QUEUE_URL = its `local:` URL). The
 * demo organization gets one launched export job per export template, so `npm run export -- demo <jobId>` and the
 * API's "run now" have something to run.
 */
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbJobs, putJob } from '../../functions/adapters/dynamodb-jobs.ts';
import { defaultExportJob } from '../../functions/core/transfer/export-jobs.ts';
import { EXPORT_QUEUE_SETTINGS } from '../../functions/core/transfer/export-queue.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { acceptContinuations, LocalQueue, type SqsHandler } from './queue.ts';

/** The demo's export jobs: job id = template id without `_export`, with dashes (case-status, visa-information...). */
export function demoExportJobId(templateId: string): string {
  return templateId.replace(/_export$/, '').replace(/_/g, '-');
}

/** One launched full export job per export template, unless the organization has it already (safe on every start). */
export async function seedExportJobs(db: DynamoDBDocumentClient, org: string, timeZone: string): Promise<void> {
  const store = dynamoDbJobs(db);
  for (const template of templates.all.filter((t) => t.direction === 'export')) {
    const jobId = demoExportJobId(template.id);
    if (await store.get(org, jobId)) continue;
    await putJob(db, defaultExportJob(org, template, jobId, { timeZone }));
  }
}

/**
 * The export-runs queue, its messages kept under `stateDir/queues/` (a run handed over before a crash is exported
 * after the restart), registered so that EXPORT_RUNS_QUEUE_URL reaches it. `stop` unregisters and closes it.
 */
export async function startExportRunsQueue(
  stateDir: string,
  log: (entry: Record<string, unknown>) => void,
): Promise<{ queue: LocalQueue; stop(): Promise<void> }> {
  const handler = (await import('../../functions/handlers/export-run.ts')).handler as SqsHandler;
  const queue = new LocalQueue({
    name: 'export-runs-queue',
    handler,
    delayMs: 0,
    visibilityTimeoutMs: EXPORT_QUEUE_SETTINGS.visibilityTimeoutSeconds * 1000,
    maxReceiveCount: EXPORT_QUEUE_SETTINGS.maxReceiveCount,
    stateFile: join(stateDir, 'queues', 'export-runs-queue.json'),
    onError: (err, ids) => log({ level: 'ERROR', message: 'export handler failed', error: String(err), ids }),
  });
  process.env.EXPORT_RUNS_QUEUE_URL = queue.url;
  const unregister = acceptContinuations(queue);
  return {
    queue,
    async stop() {
      unregister();
      await queue.close();
    },
  };
}
