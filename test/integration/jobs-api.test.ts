/**
 * The jobs API on the real local parts: the Hono app with the DynamoDB adapters against DynamoDB Local (in memory),
 * driven over HTTP requests as a client drives it. Asserts what is stored, conditional saves, tenant isolation, and
 * that a job saved through the API is the job the import engine then runs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Hono } from 'hono';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { dynamoDbJobs, putJob } from '../../functions/adapters/dynamodb-jobs.ts';
import { dynamoDbRunReports } from '../../functions/adapters/dynamodb-reports.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { createApi } from '../../functions/api/app.ts';
import type { ApiEnv } from '../../functions/api/jobs-routes.ts';
import type { JobRepository } from '../../functions/core/ports.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { importFile } from '../../functions/core/transfer/import-file.ts';
import { chooseJob, defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { startRun } from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { tableEnvName } from '../../schemas/tables.ts';
import { bytes, fixedClock, MemoryRecords, MemoryRunLog } from '../fixtures/memory-ports.ts';
import { ACTIVE_ONLY, WORKDAY_HEADER, WORKDAY_MAPPING } from '../fixtures/workday-job.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';
import { contractChecked } from '../support/openapi-contract.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let jobs: JobRepository;
let app: Hono<ApiEnv>;
const issuer = localIssuer('integration-secret');

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = Record<string, any>;

before(async () => {
  parts = await startLocalParts({ s3: false });
  db = dynamoDbDocumentClient(parts.config);
  jobs = dynamoDbJobs(db, { env: parts.env });
  const stores = { reports: dynamoDbRunReports(db, parts.env), jobs };
  // Every request and answer is checked against schemas/openapi.json (test/support/openapi-contract.ts).
  app = contractChecked(createApi({ storesFor: () => stores, authenticate: localAuthenticate(issuer) }));
});
after(() => parts.stop());

async function call(method: string, path: string, org: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${issuer.issue(org)}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function stored(org: string, jobId: string): Promise<Json | undefined> {
  const out = await db.send(new GetCommand({ TableName: parts.env[tableEnvName('Jobs')], Key: { org, jobId } }));
  return out.Item;
}

const MAPPING = WORKDAY_MAPPING;

test('a draft saved over HTTP is stored under the caller organization, with its revision', async () => {
  const res = await call('PUT', '/v1/jobs/workday', 'acme', {
    templateId: 'fn_profile_import',
    name: 'Workday',
    mapping: MAPPING.slice(0, 3),
    filters: [{ field: 'status', op: 'in', values: ['Active'] }],
  });
  assert.equal(res.status, 201);
  assert.equal(res.body.job.status, 'draft');
  const item = await stored('acme', 'workday');
  assert.equal(item?.org, 'acme');
  assert.equal(item?.revision, 1);
  assert.deepEqual(item?.mapping, MAPPING.slice(0, 3));
  assert.equal(await stored('globex', 'workday'), undefined);
  assert.deepEqual(
    res.body.job.problems.map((p: Json) => p.code),
    ['filter_field_unmapped', 'mandatory_field_unmapped'],
  );
});

test('launch is refused while mandatory fields are unmapped, then works and is stored', async () => {
  const refused = await call('POST', '/v1/jobs/workday/launch', 'acme');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'job_not_launchable');
  assert.equal((await stored('acme', 'workday'))?.status, 'draft');

  const saved = await call('PUT', '/v1/jobs/workday', 'acme', {
    templateId: 'fn_profile_import',
    name: 'Workday',
    mapping: MAPPING,
    filters: [{ field: 'status', op: 'in', values: ['Active'] }],
    revision: 1,
  });
  assert.equal(saved.status, 200);
  assert.equal(saved.body.job.launchable, true);
  const launched = await call('POST', '/v1/jobs/workday/launch', 'acme');
  assert.equal(launched.status, 200);
  const item = await stored('acme', 'workday');
  assert.equal(item?.status, 'launched');
  assert.equal(item?.revision, 3);
  assert.equal(item?.createdAt, saved.body.job.createdAt);
});

test('another organization cannot see, change or launch the job', async () => {
  assert.equal((await call('GET', '/v1/jobs/workday', 'globex')).status, 404);
  assert.equal((await call('POST', '/v1/jobs/workday/launch', 'globex')).status, 404);
  assert.deepEqual((await call('GET', '/v1/jobs', 'globex')).body.jobs, []);
  assert.deepEqual(
    (await call('GET', '/v1/jobs', 'acme')).body.jobs.map((j: Json) => j.jobId),
    ['workday'],
  );
});

test('saves are conditional on the revision read; attributes other parts keep on the item stay', async () => {
  const table = parts.env[tableEnvName('Jobs')];
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { org: 'acme', jobId: 'workday' },
      UpdateExpression: 'SET lastRunId = :r',
      ExpressionAttributeValues: { ':r': 'run-1' },
    }),
  );
  const job = (await jobs.get('acme', 'workday'))!;
  assert.equal(await jobs.save({ ...job, name: 'Stale', revision: 9 }, 2), 'conflict');
  assert.equal(await jobs.save({ ...job, name: 'New' }, undefined), 'conflict', 'must not exist yet');
  const { filters: _dropped, ...withoutFilters } = job;
  assert.equal(await jobs.save({ ...withoutFilters, name: 'Renamed', revision: 4 }, 3), 'saved');
  const item = await stored('acme', 'workday');
  assert.equal(item?.name, 'Renamed');
  assert.equal(item?.lastRunId, 'run-1');
  assert.equal('filters' in (item ?? {}), false, 'an option left out is removed');

  const stale = await call('PUT', '/v1/jobs/workday', 'acme', {
    templateId: 'fn_profile_import',
    mapping: MAPPING,
    revision: 3,
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.error.code, 'edit_conflict');
});

test('a job seeded without a revision (revision 0) can be edited', async () => {
  await putJob(db, defaultImportJob('seeded', 'fn_profile_import', 'profile-import'), { env: parts.env });
  const res = await call('PUT', '/v1/jobs/profile-import', 'seeded', {
    templateId: 'fn_profile_import',
    mapping: defaultImportJob('seeded', 'fn_profile_import', 'x').mapping,
    revision: 0,
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.job.status, 'launched');
  assert.equal((await stored('seeded', 'profile-import'))?.revision, 1);
});

test('the job saved over HTTP is the one the import engine runs: transforms and filters applied', async () => {
  await call('PUT', '/v1/jobs/workday', 'acme', {
    templateId: 'fn_profile_import',
    mapping: MAPPING,
    filters: ACTIVE_ONLY,
  });
  const template = templates.byId('fn_profile_import')!;
  const choice = chooseJob(await jobs.importJobs('acme'), template, templates, 'fn_profile_import_20261124.csv');
  assert.ok(choice.ok, choice.ok ? '' : choice.message);
  const job: ImportJob = choice.job;
  const records = new MemoryRecords();
  const clock = fixedClock();
  const text = [
    WORKDAY_HEADER,
    'W1,"Silva, Ana",ana@x.com,11/24/2024,ACT',
    'W2,"Li, Bo",bo@x.com,2/3/39,ACT',
    'W3,"Kim, Jo",jo@x.com,2/3/41,TRM',
    '',
  ].join('\r\n');
  const { run } = await importFile(
    { openCsv, scratch: diskSortScratch(), records, runLog: new MemoryRunLog(), clock },
    {
      run: startRun({
        org: 'acme',
        runId: 'r1',
        now: clock.now(),
        file: { key: 'k', name: 'fn_profile_import_20261124.csv', size: text.length, etag: 'e' },
      }),
      job,
      template: choice.template,
      source: () => bytes(text),
      fileName: 'fn_profile_import_20261124.csv',
    },
  );
  assert.equal(run.status, 'completed');
  assert.deepEqual([run.counts.created, run.counts.filtered], [2, 1]);
  const hired = [...records.items.values()].map((r) => [r.employeeId, r.hireDate, r.firstName]);
  assert.deepEqual(hired, [
    ['W1', '2024-11-24', 'Ana'],
    ['W2', '2039-02-03', 'Bo'],
  ]);
});

test('runs are listed a page at a time; a cursor works only for the organization it came from', async () => {
  const log = dynamoDbRunLog(db, { env: parts.env });
  for (const [org, minute] of [
    ['pager', 1],
    ['pager', 2],
    ['pager', 3],
    ['pager-2', 4],
    ['pager-2', 5],
  ] as const) {
    await log.save(
      startRun({
        org,
        runId: `20261124T07${String(minute).padStart(2, '0')}00000Z-aaaaaa`,
        now: new Date(`2026-11-24T07:0${minute}:00Z`),
        file: { key: `inbound/${org}/f.csv`, name: 'f.csv', size: 1, etag: 'e' },
      }),
    );
  }
  const first = await call('GET', '/v1/runs?limit=2', 'pager');
  assert.equal(first.status, 200);
  assert.deepEqual(
    first.body.runs.map((r: Json) => r.runId.slice(11, 13)),
    ['03', '02'],
    'newest first',
  );
  assert.ok(first.body.next);
  const second = await call('GET', `/v1/runs?limit=2&cursor=${first.body.next}`, 'pager');
  assert.deepEqual(
    second.body.runs.map((r: Json) => r.runId.slice(11, 13)),
    ['01'],
  );

  // `pager-2` starts with `pager`: the cursor's partition must match exactly.
  const theirs = await call('GET', '/v1/runs?limit=1', 'pager-2');
  assert.ok(theirs.body.next);
  const stolen = await call('GET', `/v1/runs?limit=2&cursor=${theirs.body.next}`, 'pager');
  assert.equal(stolen.status, 400);
  assert.equal(stolen.body.error.code, 'invalid_cursor');
  assert.equal((await call('GET', `/v1/runs?cursor=${first.body.next}`, 'pager-2')).status, 400);
  const garbage = await call('GET', '/v1/runs?cursor=not-a-cursor', 'pager');
  assert.equal(garbage.status, 400);
  assert.equal(garbage.body.error.code, 'invalid_cursor');
});

test('two concurrent launches for one template: exactly one wins, whichever way the race goes', async () => {
  for (let round = 0; round < 5; round++) {
    const org = `race-${round}`;
    for (const id of ['first', 'second']) {
      const saved = await call('PUT', `/v1/jobs/${id}`, org, { templateId: 'fn_profile_import', mapping: MAPPING });
      assert.equal(saved.status, 201);
      assert.equal(saved.body.job.launchable, true);
    }
    // Both read "no other launched job" before either writes: only the conditional write can tell them apart.
    const results = await Promise.all(['first', 'second'].map((id) => call('POST', `/v1/jobs/${id}/launch`, org)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409], `round ${round}`);
    const loser = results.find((r) => r.status === 409)!;
    assert.equal(loser.body.error.problems[0].code, 'template_already_launched');
    const launched = (await jobs.importJobs(org)).filter((j) => j.status === 'launched');
    assert.equal(launched.length, 1);
    // The import engine then finds exactly one job for the template.
    assert.equal(
      chooseJob(await jobs.importJobs(org), templates.byId('fn_profile_import')!, templates, 'f.csv').ok,
      true,
    );

    // Back to draft frees the template: the other job launches.
    const winner = launched[0]!;
    const other = winner.jobId === 'first' ? 'second' : 'first';
    assert.equal((await call('POST', `/v1/jobs/${other}/launch`, org)).status, 409);
    const drafted = await call('PUT', `/v1/jobs/${winner.jobId}`, org, {
      templateId: 'fn_profile_import',
      mapping: MAPPING,
      status: 'draft',
    });
    assert.equal(drafted.status, 200);
    assert.equal((await call('POST', `/v1/jobs/${other}/launch`, org)).status, 200);
  }
});

test('job lists are paginated, guards never listed; a malformed cursor is a 400', async () => {
  const org = 'job-pages';
  for (let i = 0; i < 5; i++) {
    await call('PUT', `/v1/jobs/job-${i}`, org, { templateId: 'fn_profile_import', mapping: MAPPING });
  }
  await call('POST', '/v1/jobs/job-2/launch', org);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await call('GET', `/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`, org);
    assert.equal(page.status, 200);
    assert.ok(page.body.jobs.length <= 2);
    seen.push(...page.body.jobs.map((j: Json) => j.jobId));
    cursor = page.body.next;
    pages++;
  } while (cursor && pages < 10);
  assert.deepEqual(seen, ['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
  const wrongShape = Buffer.from(JSON.stringify({ org, jobId: 'job-1', extra: 1 })).toString('base64url');
  const res = await call('GET', `/v1/jobs?cursor=${wrongShape}`, org);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'invalid_cursor');
});

test('a runs cursor of the right organization but the wrong shape is a 400, not a store error', async () => {
  for (const key of [{ org: 'pager' }, { org: 'pager', runId: 5 }, { org: 'pager', runId: 'r', seq: 'x' }]) {
    const cursor = Buffer.from(JSON.stringify(key)).toString('base64url');
    const res = await call('GET', `/v1/runs?cursor=${cursor}`, 'pager');
    assert.equal(res.status, 400, JSON.stringify(key));
    assert.equal(res.body.error.code, 'invalid_cursor');
  }
  const errors = Buffer.from(JSON.stringify({ orgRun: 'pager#r', seq: 7 })).toString('base64url');
  assert.equal((await call('GET', `/v1/runs/${'r'.repeat(2000)}/errors?cursor=${errors}`, 'pager')).status, 404);
});
