/**
 * The scheduled-run handler and export jobs: a firing (or run now) of a launched export job is handed over to the
 * export-runs queue with the firing's run id, never exported in the handler; a paused job's firing, a draft's, or a
 * time that is no run of its schedule hands nothing over. Without an export queue the request is dropped, logged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExportRunRequest } from '../../functions/core/ports.ts';
import { defaultExportJob, type ExportJob } from '../../functions/core/transfer/export-jobs.ts';
import { scheduledRunId } from '../../functions/core/transfer/job-runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { createScheduledRunHandler } from '../../functions/handlers/scheduled-run.ts';
import { MemoryContinuations, MemoryFiringRuns, MemoryJobRepository } from '../fixtures/memory-job-repository.ts';
import { fixedClock, MemoryLedger } from '../fixtures/memory-ports.ts';

const SIX_NY = '2026-03-09T10:00:00.000Z'; // 06:00 in New York (EDT)

function setup(job: Partial<ExportJob> = {}, withQueue = true) {
  const base = defaultExportJob('acme', templates.byId('case_status_export')!, 'cases', { timeZone: 'UTC' });
  const jobs = new MemoryJobRepository([
    { ...base, schedule: { kind: 'daily', at: '06:00', timeZone: 'America/New_York' }, ...job },
  ]);
  const launched: ExportRunRequest[] = [];
  const firingRuns = new MemoryFiringRuns();
  const continuations = new MemoryContinuations();
  const handler = createScheduledRunHandler({
    dependencies: () => ({
      jobs,
      ledger: new MemoryLedger(),
      firingRuns,
      continuations,
      clock: fixedClock(Date.parse(SIX_NY)),
      ...(withQueue
        ? {
            exports: {
              launch: async (r) => {
                launched.push(r);
              },
            },
          }
        : {}),
    }),
  });
  const deliver = (body: unknown, messageId = 'm1') =>
    handler({ Records: [{ messageId, body: JSON.stringify(body) }] } as never);
  return { deliver, launched, firingRuns, continuations };
}

const firing = { org: 'acme', jobId: 'cases', trigger: 'schedule', scheduledTime: SIX_NY };

test("a firing of a launched export job is handed to the export queue with the firing's run id", async () => {
  const { deliver, launched, firingRuns, continuations } = setup();
  assert.deepEqual((await deliver(firing)).batchItemFailures, []);
  await deliver(firing, 'm2');
  const runId = scheduledRunId('cases', new Date(SIX_NY));
  // Both deliveries carry the same id: the export function creates that run once (export-engine.ts).
  assert.deepEqual(launched, [
    { org: 'acme', jobId: 'cases', trigger: 'schedule', runId },
    { org: 'acme', jobId: 'cases', trigger: 'schedule', runId },
  ]);
  // Nothing of the import machinery is touched.
  assert.equal(firingRuns.runs.size, 0);
  assert.deepEqual(continuations.sent, []);
});

test('run now of a paused export job is handed over; its firings, a draft and an off-schedule time are not', async () => {
  const paused = setup({ paused: true });
  await paused.deliver(firing);
  assert.deepEqual(paused.launched, []);
  await paused.deliver({ org: 'acme', jobId: 'cases', trigger: 'manual', cutoff: SIX_NY, runId: 'r-now' });
  assert.deepEqual(paused.launched, [{ org: 'acme', jobId: 'cases', trigger: 'manual', runId: 'r-now' }]);

  const draft = setup({ status: 'draft' });
  await draft.deliver(firing);
  await draft.deliver({ org: 'acme', jobId: 'cases', trigger: 'manual', cutoff: SIX_NY, runId: 'r-now' });
  assert.deepEqual(draft.launched, []);

  const off = setup();
  await off.deliver({ ...firing, scheduledTime: '2026-03-09T11:00:00.000Z' });
  assert.deepEqual(off.launched, []);
});

test('without an export queue an export request is dropped (logged), not failed into retries', async () => {
  const { deliver, launched } = setup({}, false);
  assert.deepEqual((await deliver(firing)).batchItemFailures, []);
  assert.deepEqual(launched, []);
});
