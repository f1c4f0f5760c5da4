import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  dispatchJobRun,
  type JobRunRequest,
  readJobRunRequest,
  scheduledRunId,
} from '../../functions/core/transfer/job-runs.ts';
import { defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { DEFAULT_SCHEDULE } from '../../functions/core/transfer/schedules.ts';

const scheduled: ImportJob = {
  ...defaultImportJob('acme', 'fn_profile_import', 'profile'),
  processing: 'scheduled',
  schedule: DEFAULT_SCHEDULE,
};
const firing = (at: string): JobRunRequest => {
  const read = readJobRunRequest({ org: 'acme', jobId: 'profile', trigger: 'schedule', scheduledTime: at });
  assert.ok(read.ok);
  return read.request;
};
const runners = {
  import: async (job: ImportJob, r: JobRunRequest) => `import ${job.jobId} ${r.cutoff}`,
};

test('a firing: its run id follows from the job and the scheduled time, the same for every delivery', () => {
  const a = firing('2026-03-08T10:00:00Z');
  assert.equal(a.runId, '20260308T100000000Z-s-profile');
  assert.equal(a.runId, scheduledRunId('profile', new Date('2026-03-08T10:00:00.000Z')));
  assert.equal(a.cutoff, '2026-03-08T10:00:00.000Z');
  assert.deepEqual(readJobRunRequest({ org: 'acme', jobId: 'profile', trigger: 'manual', cutoff: 'x' }).ok, false);
  assert.deepEqual(readJobRunRequest({ org: 'acme', jobId: 'profile', trigger: 'manual', cutoff: a.cutoff }).ok, false);
});

test('dispatch: an import job goes to the import runner; stale firings are dropped', async () => {
  assert.deepEqual(await dispatchJobRun(scheduled, firing('2026-03-08T10:00:00Z'), runners), {
    ran: true,
    result: 'import profile 2026-03-08T10:00:00.000Z',
  });
  // 09:00Z is 01:00 PST on 8 March: no run of a 02:00 schedule (a schedule changed late may still fire once).
  assert.deepEqual(await dispatchJobRun(scheduled, firing('2026-03-08T09:00:00Z'), runners), {
    ran: false,
    reason: 'not_a_run_of_schedule',
  });
  assert.deepEqual(await dispatchJobRun({ ...scheduled, paused: true }, firing('2026-03-08T10:00:00Z'), runners), {
    ran: false,
    reason: 'not_scheduled',
  });
  const { processing: _p, schedule: _s, ...onArrival } = scheduled;
  assert.equal((await dispatchJobRun(onArrival, firing('2026-03-08T10:00:00Z'), runners)).ran, false);
  assert.deepEqual(await dispatchJobRun(undefined, firing('2026-03-08T10:00:00Z'), runners), {
    ran: false,
    reason: 'no_job',
  });
  assert.deepEqual(await dispatchJobRun({ ...scheduled, status: 'draft' }, firing('2026-03-08T10:00:00Z'), runners), {
    ran: false,
    reason: 'not_launched',
  });
  // Run now needs a launched job, paused or not, scheduled or not.
  const manual: JobRunRequest = {
    org: 'acme',
    jobId: 'profile',
    trigger: 'manual',
    cutoff: '2026-03-08T12:00:00.000Z',
    runId: 'r-1',
  };
  assert.equal((await dispatchJobRun({ ...onArrival, paused: true }, manual, runners)).ran, true);
});

test('dispatch: an export job goes to the export runner, refused while there is none', async () => {
  const exportJob = { direction: 'export' as const, org: 'acme', jobId: 'cases', status: 'launched' as const };
  const request: JobRunRequest = {
    org: 'acme',
    jobId: 'cases',
    trigger: 'manual',
    cutoff: '2026-03-08T12:00:00.000Z',
    runId: 'r-2',
  };
  assert.deepEqual(await dispatchJobRun(exportJob, request, runners), { ran: false, reason: 'no_runner' });
  assert.deepEqual(
    await dispatchJobRun(exportJob, request, { ...runners, export: async (job) => `export ${job.jobId}` }),
    { ran: true, result: 'export cases' },
  );
});
