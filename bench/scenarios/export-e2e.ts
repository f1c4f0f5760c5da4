/**
 * (f) A real export: the export handler's core (exportOnce) reading the seeded records from DynamoDB Local through
 * the system-of-record port (paged, joined with their foreign nationals), writing the CSV to s3rver by multipart
 * upload. The seeding (by the parent) is not timed; the whole run is: mark, pages, join, CSV, upload, run record.
 */
import { exportDependenciesFromEnv, exportOnce } from '../../functions/handlers/export-run.ts';
import { measure } from './measure.ts';

const [org, jobId] = process.argv.slice(2);
if (!org || !jobId) throw new Error('usage: export-e2e.ts ORG JOB');
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

let bytes = 0;
await measure('(f) export from DynamoDB Local to s3rver', 0, async () => {
  const deps = exportDependenciesFromEnv(process.env);
  const result = await exportOnce({ org, jobId, trigger: 'bench' }, { ...deps, options: { settleMs: 0 } });
  if (result.status !== 'completed') throw new Error(`export ${result.status}`);
  bytes = (await deps.ports.files.head(result.key!))?.size ?? 0;
  return { rows: result.rows ?? 0, bytes, notes: `${result.key}` };
});
