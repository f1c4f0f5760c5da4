/**
 * Exports on the local stack: the export handler (functions/handlers/export-run.ts) run in-process, as the AWS
 * function is invoked asynchronously (a launch returns at once; the run goes on, and its end is logged). The demo
 * organization gets one launched export job per export template, so `npm run export -- demo <jobId>` and the API's
 * "run now" have something to run.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbJobs, putJob } from '../../functions/adapters/dynamodb-jobs.ts';
import type { ExportLauncher } from '../../functions/core/ports.ts';
import { defaultExportJob } from '../../functions/core/transfer/export-jobs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { exportDependenciesFromEnv, exportOnce } from '../../functions/handlers/export-run.ts';

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

/** The twin's launcher: runs the handler's core in-process, not awaited by the caller (an async invoke). */
export function localExportLauncher(
  log: (entry: Record<string, unknown>) => void,
  env: NodeJS.ProcessEnv = process.env,
): ExportLauncher & { idle(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  return {
    async launch(event) {
      const run = exportOnce(event, exportDependenciesFromEnv(env))
        .then((result) => log({ level: 'INFO', message: 'export ended', ...event, ...result }))
        .catch((err) => log({ level: 'ERROR', message: 'export failed', ...event, error: String(err) }));
      running.add(run);
      void run.finally(() => running.delete(run));
    },
    async idle() {
      await Promise.all([...running]);
    },
  };
}
