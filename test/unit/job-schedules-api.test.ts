import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApi } from '../../functions/api/app.ts';
import type { Job, JobRunRequests, JobScheduler } from '../../functions/core/ports.ts';
import type { JobRunRequest } from '../../functions/core/transfer/job-runs.ts';
import { defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { MemoryJobRepository } from '../fixtures/memory-job-repository.ts';
import { MemoryRunReports } from '../fixtures/memory-reports.ts';
import { contractChecked } from '../support/openapi-contract.ts';

const reports = new MemoryRunReports();

function setup(now = '2026-03-07T06:00:00.000Z') {
  const issuer = localIssuer('test-secret');
  const jobs = new MemoryJobRepository([
    defaultImportJob('acme', 'fn_profile_import', 'profile'),
    defaultImportJob('globex', 'fn_profile_import', 'theirs'),
  ]);
  const synced: Job[] = [];
  const scheduler: JobScheduler = {
    sync: async (job) => {
      synced.push(structuredClone(job));
    },
    remove: async () => {},
  };
  const requested: JobRunRequest[] = [];
  const runRequests: JobRunRequests = {
    request: async (r) => {
      requested.push(r);
    },
  };
  // Every request and answer is checked against schemas/openapi.json (test/support/openapi-contract.ts).
  const app = contractChecked(
    createApi({
      storesFor: () => ({ reports, jobs }),
      catalog: templates,
      clock: { now: () => new Date(now) },
      authenticate: localAuthenticate(issuer),
      scheduler,
      runRequests,
      random: { token: (n) => 'x'.repeat(n) },
    }),
  );
  const call = async (method: string, path: string, body?: unknown, org = 'acme') => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${issuer.issue(org)}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, read as the client reads them
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  return { call, jobs, synced, requested };
}

async function makeScheduled(call: ReturnType<typeof setup>['call'], extra: Record<string, unknown> = {}) {
  const job = (await call('GET', '/v1/jobs/profile')).body.job;
  const { mapping, templateId, syncKey, revision } = job;
  return call('PUT', '/v1/jobs/profile', { templateId, mapping, syncKey, revision, processing: 'scheduled', ...extra });
}

test('a new scheduled job gets the seed rule: daily 02:00 America/Los_Angeles; the scheduler is told', async () => {
  const { call, synced } = setup();
  const saved = await makeScheduled(call, { contacts: ['Ops@Example.com', 'ops@example.com', 'hr@example.org'] });
  assert.equal(saved.status, 200);
  assert.deepEqual(saved.body.job.schedule, { kind: 'daily', at: '02:00', timeZone: 'America/Los_Angeles' });
  assert.equal(saved.body.job.scheduleDescription, 'daily at 02:00 (America/Los_Angeles)');
  assert.deepEqual(saved.body.job.contacts, ['ops@example.com', 'hr@example.org']);
  assert.equal(saved.body.job.status, 'launched');
  assert.equal((synced.at(-1) as ImportJob | undefined)?.processing, 'scheduled');
  // The next runs, the spring-forward night included (03:00 PDT, once).
  const upcoming = await call('GET', '/v1/jobs/profile/upcoming-runs?count=3');
  assert.deepEqual(
    upcoming.body.runs.map((r: { at: string }) => r.at),
    ['2026-03-07T10:00:00.000Z', '2026-03-08T10:00:00.000Z', '2026-03-09T09:00:00.000Z'],
  );
});

test('a bad schedule or contact is a 400 naming the field', async () => {
  const { call } = setup();
  const bad = await makeScheduled(call, {
    schedule: { kind: 'weekly', days: ['MON', 'XYZ'], at: '25:00', timeZone: 'UTC' },
  });
  assert.equal(bad.status, 400);
  const messages = bad.body.error.problems.map((p: { message: string }) => p.message.split(':')[0]);
  assert.deepEqual(messages.sort(), ['schedule.at', 'schedule.days[1]']);
  const contact = await makeScheduled(call, { contacts: ['not an address'] });
  assert.equal(contact.status, 400);
  assert.match(contact.body.error.problems[0].message, /^contacts\[0\]: "not an address" is not an e-mail address/);
  const onArrival = await call('PUT', '/v1/jobs/profile', {
    ...(await call('GET', '/v1/jobs/profile')).body.job,
    schedule: { kind: 'daily', at: '02:00', timeZone: 'UTC' },
  });
  assert.equal(onArrival.status, 400);
});

test('pause and resume: saves with the revision rule; a paused job has no upcoming runs', async () => {
  const { call, synced } = setup();
  await makeScheduled(call);
  const paused = await call('POST', '/v1/jobs/profile/pause');
  assert.equal(paused.status, 200);
  assert.equal(paused.body.job.paused, true);
  assert.equal(synced.at(-1)?.paused, true);
  assert.deepEqual((await call('GET', '/v1/jobs/profile/upcoming-runs')).body.runs, []);
  assert.deepEqual((await call('GET', '/v1/upcoming-runs')).body.runs, []);
  // A PUT keeps the paused state.
  const again = await makeScheduled(call);
  assert.equal(again.body.job.paused, true);
  const resumed = await call('POST', '/v1/jobs/profile/resume');
  assert.equal(resumed.body.job.paused, false);
  assert.equal(resumed.body.job.revision, again.body.job.revision + 1);
  assert.equal((await call('GET', '/v1/jobs/profile/upcoming-runs')).body.runs.length, 5);
});

test('run now: 202 with a manual request whose cut-off is now; a draft is a 409', async () => {
  const { call, requested } = setup();
  const res = await call('POST', '/v1/jobs/profile/run');
  assert.equal(res.status, 202);
  assert.deepEqual(requested, [
    {
      org: 'acme',
      jobId: 'profile',
      trigger: 'manual',
      cutoff: '2026-03-07T06:00:00.000Z',
      runId: res.body.request.runId,
    },
  ]);
  const job = (await call('GET', '/v1/jobs/profile')).body.job;
  await call('PUT', '/v1/jobs/profile', {
    templateId: job.templateId,
    mapping: job.mapping,
    revision: job.revision,
    status: 'draft',
  });
  assert.equal((await call('POST', '/v1/jobs/profile/run')).status, 409);
});

test("another organization's job is a 404 for pause, resume, run and upcoming runs", async () => {
  const { call, requested } = setup();
  for (const [method, path] of [
    ['POST', '/v1/jobs/theirs/pause'],
    ['POST', '/v1/jobs/theirs/resume'],
    ['POST', '/v1/jobs/theirs/run'],
    ['GET', '/v1/jobs/theirs/upcoming-runs'],
  ] as const) {
    assert.equal((await call(method, path)).status, 404, path);
  }
  assert.deepEqual(requested, []);
});

test('upcoming runs of all jobs: time order, paged, a wrong cursor or count is a 400', async () => {
  const { call } = setup();
  await makeScheduled(call);
  const first = await call('GET', '/v1/upcoming-runs?count=3&limit=2');
  assert.deepEqual(
    first.body.runs.map((r: { at: string; jobId: string }) => [r.jobId, r.at]),
    [
      ['profile', '2026-03-07T10:00:00.000Z'],
      ['profile', '2026-03-08T10:00:00.000Z'],
    ],
  );
  const second = await call('GET', `/v1/upcoming-runs?count=3&limit=2&cursor=${first.body.next}`);
  assert.deepEqual(
    second.body.runs.map((r: { at: string }) => r.at),
    ['2026-03-09T09:00:00.000Z'],
  );
  assert.equal(second.body.next, null);
  assert.equal((await call('GET', '/v1/upcoming-runs?cursor=nonsense')).status, 400);
  assert.equal((await call('GET', '/v1/upcoming-runs?count=0')).status, 400);
  assert.equal((await call('GET', '/v1/upcoming-runs?count=51')).status, 400);
});
