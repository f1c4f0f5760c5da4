import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type JobRunRequest, runImportJob, scheduledRunId } from '../../functions/core/transfer/job-runs.ts';
import { defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { receiveFile } from '../../functions/core/transfer/receive-file.ts';
import { parseNotification } from '../../functions/core/transfer/s3-events.ts';
import { DEFAULT_SCHEDULE } from '../../functions/core/transfer/schedules.ts';
import { MemoryContinuations, MemoryFiringRuns } from '../fixtures/memory-job-repository.ts';
import { MemoryJobs, memoryReceive } from '../fixtures/memory-ports.ts';

const HEADER = 'Employee ID,First Name,Last Name,Email';
const job: ImportJob = {
  ...defaultImportJob('acme', 'fn_profile_import', 'job-1'),
  processing: 'scheduled',
  schedule: DEFAULT_SCHEDULE,
};

function setup() {
  const firingRuns = new MemoryFiringRuns();
  const queue = new MemoryContinuations();
  const m = memoryReceive({ jobs: new MemoryJobs([job]), firingRuns });
  const runner = { ledger: m.ledger, firingRuns, continuations: queue, clock: m.clock };
  /** Delivers what the runner sent to the import queue, as the import handler would. */
  const deliver = async () => {
    const outcomes = [];
    while (queue.sent.length > 0) {
      const parsed = parseNotification(queue.sent.shift()!);
      assert.equal(parsed.kind, 'arrivals');
      if (parsed.kind === 'arrivals') for (const a of parsed.arrivals) outcomes.push(await receiveFile(m.deps, a));
    }
    return outcomes;
  };
  return { ...m, firingRuns, queue, runner, deliver };
}

test('a scheduled job: arriving files are pending, no run; the run takes those before its cut-off, oldest first', async () => {
  const { deps, files, ledger, runLog, records, firingRuns, runner, deliver } = setup();
  const early = 'inbound/acme/fn_profile_import_20261123.csv';
  const late = 'inbound/acme/fn_profile_import_20261124.csv';
  files.put(early, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`); // LastModified 07:00:01Z
  files.put(late, `${HEADER}\r\nE1,Ana,Souza,a@example.com\r\n`); // LastModified 07:00:02Z
  for (const key of [late, early]) {
    const received = await receiveFile(deps, { eventName: 'ObjectCreated:Put', key });
    assert.deepEqual(received, { outcome: 'pending', key, jobId: 'job-1' });
  }
  assert.equal(runLog.runs.size, 0);
  assert.equal((await ledger.pending('acme')).length, 2);

  const request: JobRunRequest = {
    org: 'acme',
    jobId: 'job-1',
    trigger: 'manual',
    cutoff: '2026-11-24T07:00:01.500Z',
    runId: '20261124T070001500Z-manual',
  };
  const run = await runImportJob(runner, job, request);
  assert.deepEqual(
    run.files.map((f) => [f.key, f.status]),
    [[early, 'pending']],
  );
  // Delivered twice (at least once): the same run, the file taken once.
  await runImportJob(runner, job, request);
  const outcomes = await deliver();
  assert.deepEqual(
    outcomes.map((o) => o.outcome),
    ['finished', 'ignored'],
  );
  const fileRun = outcomes[0]!.outcome === 'finished' ? outcomes[0]!.run : undefined;
  assert.equal(fileRun?.partOf, request.runId);
  assert.equal(fileRun?.trigger, 'manual');
  assert.equal(records.items.size, 1);

  const done = await firingRuns.get('acme', request.runId);
  assert.equal(done?.status, 'completed');
  assert.equal(done?.counts.created, 1);
  assert.deepEqual(
    done?.files.map((f) => [f.name, f.status, f.runId]),
    [['fn_profile_import_20261123.csv', 'completed', fileRun?.runId]],
  );
  // The later file waits for the next run.
  assert.deepEqual(
    (await ledger.pending('acme')).map((e) => e.key),
    [late],
  );
  const next = await runImportJob(runner, job, {
    org: 'acme',
    jobId: 'job-1',
    trigger: 'schedule',
    cutoff: '2026-11-24T10:00:00.000Z',
    runId: scheduledRunId('job-1', new Date('2026-11-24T10:00:00.000Z')),
  });
  assert.deepEqual(
    next.files.map((f) => f.key),
    [late],
  );
  await deliver();
  const second = await firingRuns.get('acme', next.runId);
  assert.equal(second?.status, 'completed');
  assert.equal(second?.counts.updated, 1);
  assert.deepEqual(await ledger.pending('acme'), []);
});

test('a run with no file before its cut-off is recorded completed at once', async () => {
  const { runner, firingRuns, queue } = setup();
  const run = await runImportJob(runner, job, {
    org: 'acme',
    jobId: 'job-1',
    trigger: 'schedule',
    cutoff: '2026-11-24T10:00:00.000Z',
    runId: 'r-empty',
  });
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.files, []);
  assert.equal((await firingRuns.get('acme', 'r-empty'))?.message, 'no file had arrived before the cut-off');
  assert.deepEqual(queue.sent, []);
});

test('a paused on-arrival job keeps its files pending too; an on-arrival job imports at once', async () => {
  const paused = memoryReceive({
    jobs: new MemoryJobs([{ ...defaultImportJob('acme', 'fn_profile_import', 'job-1'), paused: true }]),
  });
  paused.files.put('inbound/acme/fn_profile_import_20261124.csv', `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  const r = await receiveFile(paused.deps, {
    eventName: 'ObjectCreated:Put',
    key: 'inbound/acme/fn_profile_import_20261124.csv',
  });
  assert.equal(r.outcome, 'pending');
  const live = memoryReceive();
  live.files.put('inbound/acme/fn_profile_import_20261124.csv', `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  const l = await receiveFile(live.deps, {
    eventName: 'ObjectCreated:Put',
    key: 'inbound/acme/fn_profile_import_20261124.csv',
  });
  assert.equal(l.outcome === 'finished' && l.run.trigger, 'arrival');
});
