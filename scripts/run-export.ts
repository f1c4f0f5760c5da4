/**
 * `npm run export -- <org> <jobId>`: runs one export on the running local stack (`npm start`), as the export Lambda
 * would, and prints the run's id, status, file and row count. Endpoints come from .local/stack.json
 * (INTEGRATOR_STATE_DIR to use another state folder); the wait after the mark is INTEGRATOR_EXPORT_SETTLE_MS.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tableEnvName, tables } from '../schemas/tables.ts';

const [org, jobId] = process.argv.slice(2);
if (!org || !jobId) {
  console.error(
    'usage: npm run export -- <org> <jobId>   (the demo organization has case-status, visa-information, ...)',
  );
  process.exit(2);
}
const stateDir = resolve(process.env.INTEGRATOR_STATE_DIR ?? '.local');
const info = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as {
  dynamodb: { endpoint: string; region: string };
  s3: { endpoint: string; bucket: string };
};
const env: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_REGION: info.dynamodb.region,
  INTEGRATOR_DYNAMODB_ENDPOINT: info.dynamodb.endpoint,
  INTEGRATOR_S3_ENDPOINT: info.s3.endpoint,
  INTEGRATOR_BUCKET: info.s3.bucket,
  ...Object.fromEntries(tables.map((t) => [tableEnvName(t.id), t.id])),
};
Object.assign(process.env, env);
// The twin's event bus lives in its own process: this one writes its events to the same folder (.local/events/).
const { LocalEventBus, LOCAL_EVENT_BUS } = await import('../lib/local/event-bus.ts');
new LocalEventBus(join(stateDir, 'events')).register(LOCAL_EVENT_BUS);
env.EVENT_BUS_NAME = LOCAL_EVENT_BUS;
const { exportDependenciesFromEnv, exportOnce } = await import('../functions/handlers/export-run.ts');
const result = await exportOnce({ org, jobId, trigger: 'cli' }, exportDependenciesFromEnv(env));
console.log(JSON.stringify(result));
process.exit(result.status === 'completed' ? 0 : 1);
