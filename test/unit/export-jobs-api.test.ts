/**
 * Export jobs through the /v1/jobs routes: PUT (validated, a bad body a 400 naming the field), read and list beside
 * import jobs, launch (one launched job per template), pause/resume, run now (202), upcoming runs; roles and tenant
 * isolation. Every request and answer is checked against schemas/openapi.json.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApi } from '../../functions/api/app.ts';
import type { Job, JobRunRequests, JobScheduler } from '../../functions/core/ports.ts';
import type { JobRunRequest } from '../../functions/core/transfer/job-runs.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { demoUsers, localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { MemoryJobRepository } from '../fixtures/memory-job-repository.ts';
import { MemoryRunReports } from '../fixtures/memory-reports.ts';
import { contractChecked } from '../support/openapi-contract.ts';

const CASES = {
  direction: 'export',
  name: 'Case status for HRIS',
  templateId: 'case_status_export',
  mapping: [
    { column: 'Employee ID', field: 'employeeId' },
    { column: 'Name', fields: ['firstName', 'lastName'], transforms: [{ type: 'join', separator: ' ' }] },
    { column: 'Case', field: 'caseId' },
    { column: 'Type', field: 'caseType' },
    { column: 'Status', field: 'caseStatus' },
    { column: 'Status date', field: 'statusDate', transforms: [{ type: 'formatDate', format: 'MM/DD/YYYY' }] },
  ],
  mode: 'incremental',
  csv: { bom: false, lineEnding: 'lf' },
  timeZone: 'America/New_York',
  schedule: { kind: 'daily', at: '06:00', timeZone: 'America/New_York' },
  contacts: ['Ops@Example.com'],
};

function setup(now = '2026-03-07T06:00:00.000Z') {
  const issuer = localIssuer('test-secret');
  const jobs = new MemoryJobRepository([defaultImportJob('acme', 'fn_profile_import', 'profile')]);
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
  const app = contractChecked(
    createApi({
      storesFor: () => ({ reports: new MemoryRunReports(), jobs }),
      catalog: templates,
      clock: { now: () => new Date(now) },
      authenticate: localAuthenticate(issuer),
      scheduler,
      runRequests,
      random: { token: (n) => 'x'.repeat(n) },
    }),
  );
  const call = async (method: string, path: string, body?: unknown, options: { org?: string; token?: string } = {}) => {
    const token = options.token ?? issuer.issue(options.org ?? 'acme');
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, read as the client reads them
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const caseManager = issuer.issueFor(demoUsers('acme').find((u) => u.role === 'case_manager')!);
  return { call, jobs, synced, requested, caseManager };
}

test('PUT creates an export draft with its defaults filled in; launch, then it is listed beside the import jobs', async () => {
  const { call, jobs, synced } = setup();
  const created = await call('PUT', '/v1/jobs/cases', CASES);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job;
  assert.equal(job.direction, 'export');
  assert.equal(job.status, 'draft');
  assert.equal(job.launchable, true);
  assert.deepEqual(job.csv, { delimiter: ',', bom: false, lineEnding: 'lf', neutralizeFormulas: true });
  assert.deepEqual(job.contacts, ['ops@example.com']);
  assert.equal(job.scheduleDescription, 'daily at 06:00 (America/New_York)');
  assert.equal(job.revision, 1);

  const launched = await call('POST', '/v1/jobs/cases/launch');
  assert.equal(launched.status, 200);
  assert.equal(launched.body.job.status, 'launched');
  // The schedule follows the job: the scheduler was told of the launched export job.
  assert.equal(synced.at(-1)?.direction, 'export');
  assert.equal(synced.at(-1)?.status, 'launched');
  assert.equal((await jobs.get('acme', 'cases'))?.status, 'launched');

  const list = await call('GET', '/v1/jobs');
  assert.deepEqual(
    list.body.jobs.map((j: { jobId: string; direction: string }) => `${j.jobId}:${j.direction}`),
    ['cases:export', 'profile:import'],
  );
  const page = await call('GET', '/v1/jobs?limit=1');
  assert.equal(page.body.jobs.length, 1);
  const rest = await call('GET', `/v1/jobs?limit=1&cursor=${page.body.next}`);
  assert.equal(rest.body.jobs[0].jobId, 'profile');
});

test('a bad export definition is a 400 naming the field; an unknown or import template is a 400 too', async () => {
  const { call } = setup();
  const bad = await call('PUT', '/v1/jobs/cases', { ...CASES, mode: 'sometimes', timeZone: 'Mars/Olympus' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_job');
  const messages = bad.body.error.problems.map((p: { message: string }) => p.message).join('\n');
  assert.match(messages, /mode must be one of full, incremental/);
  assert.match(messages, /timeZone must be an IANA time zone/);
  const entry = await call('PUT', '/v1/jobs/cases', {
    ...CASES,
    mapping: [{ column: 'Employee ID', field: 'employeeId', colour: 'red' }],
  });
  assert.equal(entry.status, 400);
  assert.match(entry.body.error.problems[0].message, /mapping entry 1: unknown property colour/);
  const csv = await call('PUT', '/v1/jobs/cases', { ...CASES, csv: { delimiter: '#' } });
  assert.equal(csv.status, 400);
  assert.match(csv.body.error.problems[0].message, /csv.delimiter must be one of/);
  const schedule = await call('PUT', '/v1/jobs/cases', { ...CASES, schedule: { kind: 'daily', at: '25:00' } });
  assert.equal(schedule.status, 400);
  assert.match(JSON.stringify(schedule.body.error.problems), /schedule/);
  const importTemplate = await call('PUT', '/v1/jobs/cases', { ...CASES, templateId: 'fn_profile_import' });
  assert.equal(importTemplate.status, 400);
  assert.equal(importTemplate.body.error.code, 'not_an_export_template');
  // A job keeps its direction.
  const flip = await call('PUT', '/v1/jobs/profile', CASES);
  assert.equal(flip.status, 409);
  assert.equal(flip.body.error.code, 'direction_change');
});

test('launch is refused while problems remain, and for a second export job of the same template', async () => {
  const { call } = setup();
  const sensitive = await call('PUT', '/v1/jobs/passports', {
    direction: 'export',
    templateId: 'passport_information_export',
    mapping: [{ column: 'Passport', field: 'passportNumber' }],
  });
  assert.equal(sensitive.status, 201);
  assert.equal(sensitive.body.job.launchable, false);
  const refused = await call('POST', '/v1/jobs/passports/launch');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'job_not_launchable');
  assert.ok(refused.body.error.problems.some((p: { code: string }) => p.code === 'sensitive_field_not_named'));

  assert.equal((await call('PUT', '/v1/jobs/cases', CASES)).status, 201);
  assert.equal((await call('POST', '/v1/jobs/cases/launch')).status, 200);
  assert.equal((await call('PUT', '/v1/jobs/cases-too', CASES)).status, 201);
  const second = await call('POST', '/v1/jobs/cases-too/launch');
  assert.equal(second.status, 409);
  assert.equal(second.body.error.problems[0].code, 'template_already_launched');
  // Back to draft frees the template.
  const draft = await call('PUT', '/v1/jobs/cases', { ...CASES, status: 'draft' });
  assert.equal(draft.body.job.status, 'draft');
  assert.equal((await call('POST', '/v1/jobs/cases-too/launch')).status, 200);
});

test('pause, resume, run now and upcoming runs of an export job', async () => {
  const { call, requested } = setup('2026-03-07T06:00:00.000Z');
  await call('PUT', '/v1/jobs/cases', CASES);
  const draftRun = await call('POST', '/v1/jobs/cases/run');
  assert.equal(draftRun.status, 409);
  assert.equal(draftRun.body.error.code, 'job_not_launched');
  await call('POST', '/v1/jobs/cases/launch');

  const upcoming = await call('GET', '/v1/jobs/cases/upcoming-runs?count=2');
  assert.equal(upcoming.status, 200);
  assert.equal(upcoming.body.processing, undefined);
  // 06:00 New York: 11:00Z in EST, and on 8 March (DST begins) 10:00Z.
  assert.deepEqual(upcoming.body.runs, [{ at: '2026-03-07T11:00:00.000Z' }, { at: '2026-03-08T10:00:00.000Z' }]);
  const all = await call('GET', '/v1/upcoming-runs?count=1');
  assert.deepEqual(all.body.runs, [
    { jobId: 'cases', jobName: 'Case status for HRIS', direction: 'export', at: '2026-03-07T11:00:00.000Z' },
  ]);

  const paused = await call('POST', '/v1/jobs/cases/pause');
  assert.equal(paused.body.job.paused, true);
  assert.deepEqual((await call('GET', '/v1/jobs/cases/upcoming-runs')).body.runs, []);
  // A PUT keeps the pause.
  const edited = await call('PUT', '/v1/jobs/cases', { ...CASES, name: 'Renamed' });
  assert.equal(edited.body.job.paused, true);

  const run = await call('POST', '/v1/jobs/cases/run');
  assert.equal(run.status, 202);
  assert.deepEqual(run.body.request, {
    jobId: 'cases',
    trigger: 'manual',
    cutoff: '2026-03-07T06:00:00.000Z',
    runId: '20260307T060000000Z-xxxxxx',
  });
  assert.deepEqual(requested, [{ org: 'acme', ...run.body.request }]);
  const resumed = await call('POST', '/v1/jobs/cases/resume');
  assert.equal(resumed.body.job.paused, false);
});

test('a save keeps the progress the engine recorded (lastExport)', async () => {
  const { call, jobs } = setup();
  await call('PUT', '/v1/jobs/cases', CASES);
  await jobs.markExported('acme', 'cases', { mark: 41, runId: 'r1', at: '2026-03-07T05:00:00.000Z' });
  await jobs.markExported('acme', 'cases', { mark: 7, runId: 'r0', at: '2026-03-07T04:00:00.000Z' });
  const edited = await call('PUT', '/v1/jobs/cases', { ...CASES, revision: 1, name: 'Renamed' });
  assert.equal(edited.status, 200);
  assert.deepEqual(edited.body.job.lastExport, { mark: 41, runId: 'r1', at: '2026-03-07T05:00:00.000Z' });
});

test("a case manager's token cannot create, launch or run an export job; another organization's is a 404", async () => {
  const { call, caseManager, requested } = setup();
  const refused = await call('PUT', '/v1/jobs/cases', CASES, { token: caseManager });
  assert.equal(refused.status, 403);
  await call('PUT', '/v1/jobs/cases', CASES);
  await call('POST', '/v1/jobs/cases/launch');
  for (const action of ['launch', 'run', 'pause']) {
    assert.equal((await call('POST', `/v1/jobs/cases/${action}`, undefined, { token: caseManager })).status, 403);
  }
  // The case manager reads it.
  assert.equal((await call('GET', '/v1/jobs/cases', undefined, { token: caseManager })).status, 200);
  for (const [method, path] of [
    ['GET', '/v1/jobs/cases'],
    ['POST', '/v1/jobs/cases/run'],
    ['POST', '/v1/jobs/cases/launch'],
    ['GET', '/v1/jobs/cases/upcoming-runs'],
  ] as const) {
    const other = await call(method, path, undefined, { org: 'globex' });
    assert.equal(other.status, 404, `${method} ${path}`);
    assert.equal(other.body.error.code, 'not_found');
  }
  assert.deepEqual((await call('GET', '/v1/jobs', undefined, { org: 'globex' })).body.jobs, []);
  assert.equal(requested.length, 0);
});
