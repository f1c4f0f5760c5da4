import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApi } from '../../functions/api/app.ts';
import { decodeCursor, encodeCursor, InvalidCursor } from '../../functions/core/pages.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { MAX_HEADING_LENGTH, MAX_SUGGESTION_COLUMNS } from '../../functions/core/transfer/mapping.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { MemoryJobRepository } from '../fixtures/memory-job-repository.ts';
import { MemoryRunReports } from '../fixtures/memory-reports.ts';
import { WORKDAY_MAPPING } from '../fixtures/workday-job.ts';
import { contractChecked } from '../support/openapi-contract.ts';

// The run reports have their own tests (runs-api.test.ts); here they are only the other store of the app.
const reports = new MemoryRunReports();
const issuer = localIssuer('test-secret');
const jobs = new MemoryJobRepository([defaultImportJob('globex', 'fn_profile_import', 'profile')]);
const clock = { now: () => new Date('2026-11-24T07:00:00.000Z') };
// Every request below and every answer is checked against schemas/openapi.json (test/support/openapi-contract.ts).
const app = contractChecked(
  createApi({
    storesFor: () => ({ reports, jobs }),
    catalog: templates,
    clock,
    authenticate: localAuthenticate(issuer),
  }),
);
const as = (org: string) => ({ headers: { authorization: `Bearer ${issuer.issue(org)}` } });

test('health needs no credentials; everything under /v1 does', async () => {
  assert.equal((await app.request('/health')).status, 200);
  assert.equal((await app.request('/v1/runs')).status, 401);
  assert.equal((await app.request('/v1/runs', { headers: { authorization: 'Bearer forged.token.here' } })).status, 401);
  const other = localIssuer('another-secret').issue('acme');
  assert.equal((await app.request('/v1/runs', { headers: { authorization: `Bearer ${other}` } })).status, 401);
});

// ---------------------------------------------------------------------------------------------------------------
// Jobs

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = Record<string, any>;

async function call(method: string, path: string, org: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...as(org).headers, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
    if (!headers['content-type']) (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await app.request(path, init);
  return { status: res.status, body: (await res.json()) as Json };
}

const PROFILE_MAPPING = WORKDAY_MAPPING;

test('jobs need credentials, and every error has one shape', async () => {
  assert.equal((await app.request('/v1/jobs')).status, 401);
  const unknown = await call('GET', '/v1/nothing-here', 'acme');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'not_found');
});

test('PUT creates a draft, saved with the problems that keep it from running', async () => {
  const created = await call('PUT', '/v1/jobs/hr-profile', 'acme', {
    templateId: 'fn_profile_import',
    name: 'Workday profile',
    mapping: PROFILE_MAPPING.slice(0, 2),
  });
  assert.equal(created.status, 201);
  const job = created.body.job;
  assert.equal(job.status, 'draft');
  assert.equal(job.revision, 1);
  assert.equal(job.launchable, false);
  assert.equal('org' in job, false);
  assert.deepEqual(
    job.problems.map((p: Json) => p.message),
    [
      'job hr-profile: First Name (firstName) is mandatory and no column is mapped to it',
      'job hr-profile: Email (email) is mandatory and no column is mapped to it',
    ],
  );
  const read = await call('GET', '/v1/jobs/hr-profile', 'acme');
  assert.equal(read.status, 200);
  assert.equal(read.body.job.name, 'Workday profile');
  assert.deepEqual(read.body.job.mapping[1], PROFILE_MAPPING[1]);
});

test('launching a draft with unmapped mandatory fields is refused with every one of them', async () => {
  await call('PUT', '/v1/jobs/incomplete', 'acme', { templateId: 'fn_profile_import', mapping: [] });
  const refused = await call('POST', '/v1/jobs/incomplete/launch', 'acme');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'job_not_launchable');
  assert.deepEqual(
    refused.body.error.problems.map((p: Json) => p.message),
    [
      'job incomplete: Employee ID (employeeId) is mandatory (the sync key) and no column is mapped to it',
      'job incomplete: First Name (firstName) is mandatory and no column is mapped to it',
      'job incomplete: Last Name (lastName) is mandatory and no column is mapped to it',
      'job incomplete: Email (email) is mandatory and no column is mapped to it',
    ],
  );
  assert.equal((await call('GET', '/v1/jobs/incomplete', 'acme')).body.job.status, 'draft');
  assert.equal((await call('POST', '/v1/jobs/nope/launch', 'acme')).status, 404);
});

test('a complete job launches; a second launched job for the same template is refused', async () => {
  const saved = await call('PUT', '/v1/jobs/hr-profile', 'acme', {
    templateId: 'fn_profile_import',
    name: 'Workday profile',
    mapping: PROFILE_MAPPING,
    filters: [{ field: 'status', op: 'equals', value: 'Active' }],
    revision: 1,
  });
  assert.equal(saved.status, 200);
  assert.deepEqual(saved.body.job.problems, []);
  assert.equal(saved.body.job.revision, 2);
  const launched = await call('POST', '/v1/jobs/hr-profile/launch', 'acme');
  assert.equal(launched.status, 200);
  assert.equal(launched.body.job.status, 'launched');
  assert.equal(launched.body.job.revision, 3);
  assert.equal((await call('POST', '/v1/jobs/hr-profile/launch', 'acme')).status, 200, 'launching again is harmless');

  await call('PUT', '/v1/jobs/second', 'acme', { templateId: 'fn_profile_import', mapping: PROFILE_MAPPING });
  const rival = await call('POST', '/v1/jobs/second/launch', 'acme');
  assert.equal(rival.status, 409);
  assert.deepEqual(
    rival.body.error.problems.map((p: Json) => p.code),
    ['template_already_launched'],
  );
});

test('saving a launched job: kept launched when valid, refused when it would break, draft only when asked', async () => {
  const current = (await call('GET', '/v1/jobs/hr-profile', 'acme')).body.job;
  assert.equal(current.status, 'launched');
  const incomplete = await call('PUT', '/v1/jobs/hr-profile', 'acme', {
    templateId: 'fn_profile_import',
    mapping: PROFILE_MAPPING.slice(0, 3),
  });
  assert.equal(incomplete.status, 409);
  assert.equal(incomplete.body.error.code, 'job_not_launchable');
  assert.deepEqual(
    incomplete.body.error.problems.map((p: Json) => p.code),
    ['mandatory_field_unmapped'],
  );
  const rekey = await call('PUT', '/v1/jobs/hr-profile', 'acme', {
    templateId: 'fn_profile_import',
    mapping: PROFILE_MAPPING,
    syncKey: 'email',
  });
  assert.equal(rekey.status, 409);
  assert.equal(rekey.body.error.code, 'launched_job_identity_change');
  const unchanged = (await call('GET', '/v1/jobs/hr-profile', 'acme')).body.job;
  assert.equal(unchanged.revision, current.revision);

  const valid = await call('PUT', '/v1/jobs/hr-profile', 'acme', {
    templateId: 'fn_profile_import',
    mapping: PROFILE_MAPPING,
    preference: 'update_only',
  });
  assert.equal(valid.status, 200);
  assert.equal(valid.body.job.status, 'launched');
  assert.equal(valid.body.job.filters, undefined, 'PUT replaces: filters left out are gone');

  const toDraft = await call('PUT', '/v1/jobs/hr-profile', 'acme', {
    templateId: 'fn_profile_import',
    mapping: PROFILE_MAPPING,
    status: 'draft',
  });
  assert.equal(toDraft.body.job.status, 'draft');
});

test('a stale revision is an edit conflict', async () => {
  const stale = await call('PUT', '/v1/jobs/hr-profile', 'acme', {
    templateId: 'fn_profile_import',
    mapping: PROFILE_MAPPING,
    revision: 1,
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.error.code, 'edit_conflict');
});

test('bad requests are 400 with the problems', async () => {
  const shape = await call('PUT', '/v1/jobs/x', 'acme', { templateId: 'fn_profile_import', mapping: [{ field: 1 }] });
  assert.equal(shape.status, 400);
  assert.equal(shape.body.error.code, 'invalid_job');
  assert.deepEqual(
    shape.body.error.problems.map((p: Json) => p.message),
    ['mapping entry 1: field is required', 'mapping entry 1: column (or columns) is required'],
  );
  const json = await call('PUT', '/v1/jobs/x', 'acme', '{"templateId":', { 'content-type': 'application/json' });
  assert.deepEqual([json.status, json.body.error.code], [400, 'invalid_json']);
  const template = await call('PUT', '/v1/jobs/x', 'acme', { templateId: 'case_status_export' });
  assert.deepEqual([template.status, template.body.error.code], [400, 'not_an_import_template']);
  const id = await call('PUT', '/v1/jobs/-x', 'acme', { templateId: 'fn_profile_import' });
  assert.deepEqual([id.status, id.body.error.code], [400, 'invalid_job_id']);
  const launch = await call('PUT', '/v1/jobs/x', 'acme', { templateId: 'fn_profile_import', status: 'launched' });
  assert.match(launch.body.error.problems[0].message, /POST \/v1\/jobs\/\{jobId\}\/launch/);
});

test("jobs are the caller's: another organization's job is not listed, read, saved over or launched", async () => {
  const list = await call('GET', '/v1/jobs', 'acme');
  assert.deepEqual(
    list.body.jobs.map((j: Json) => j.jobId),
    ['hr-profile', 'incomplete', 'second'],
  );
  assert.equal((await call('GET', '/v1/jobs/profile', 'acme')).status, 404);
  assert.equal((await call('POST', '/v1/jobs/profile/launch', 'acme')).status, 404);
  const own = await call('PUT', '/v1/jobs/profile', 'acme', { templateId: 'fn_profile_import', mapping: [] });
  assert.equal(own.status, 201, "acme's own job of that id");
  const globex = (await call('GET', '/v1/jobs/profile', 'globex')).body.job;
  assert.equal(globex.status, 'launched');
  assert.equal(globex.mapping.length, 12);
});

test('mapping suggestions from a header, with confidence per column', async () => {
  const res = await call('POST', '/v1/mapping-suggestions', 'acme', {
    templateId: 'fn_profile_import',
    header: ['Worker ID', 'Preferred Name', 'Work Email', 'Favourite Colour'],
  });
  assert.equal(res.status, 200);
  assert.deepEqual(
    res.body.columns.map((c: Json) => [c.column, c.field]),
    [
      ['Worker ID', 'employeeId'],
      ['Preferred Name', 'preferredName'],
      ['Work Email', 'email'],
      ['Favourite Colour', undefined],
    ],
  );
  assert.ok(res.body.columns.every((c: Json) => typeof c.confidence === 'number' && typeof c.reason === 'string'));
  assert.deepEqual(res.body.mapping[0], { column: 'Worker ID', field: 'employeeId' });
  assert.deepEqual(
    res.body.unmappedRequired.map((f: Json) => f.field),
    ['firstName', 'lastName'],
  );
});

test('mapping suggestions from a sample: read by the import reader (BOM, Windows-1252), dates get a format', async () => {
  const sample =
    '\uFEFFEmployee ID,Given Name,Surname,Email,Start Date\r\nE1,Ana,Silva,ana@x.com,11/24/2026\r\nE2,Bo,Li,bo@x.com,1/2/2025\r\nE3,Ca';
  const json = await call('POST', '/v1/mapping-suggestions', 'acme', { templateId: 'fn_profile_import', sample });
  assert.equal(json.status, 200);
  assert.equal(json.body.encoding, 'utf-8-bom');
  assert.equal(json.body.sampleRows, 2, 'the cut-off last line is left out');
  assert.equal(json.body.columns[0].column, 'Employee ID');
  assert.deepEqual(json.body.columns[4].transforms, [{ type: 'date', formats: ['M/D/YYYY'] }]);
  assert.deepEqual(json.body.unmappedRequired, []);

  // A file saved by Excel as plain CSV: Windows-1252, sent as it is.
  const bytes = Buffer.from('Employee ID;Pr\xe9nom;Last Name\r\nE1;Jos\xe9;Silva\r\n', 'latin1');
  const raw = await call(
    'POST',
    '/v1/mapping-suggestions?templateId=fn_profile_import&delimiter=%3B',
    'acme',
    new Uint8Array(bytes),
    {
      'content-type': 'text/csv',
    },
  );
  assert.equal(raw.status, 200);
  assert.equal(raw.body.encoding, 'windows-1252');
  assert.deepEqual(
    raw.body.columns.map((c: Json) => c.column),
    ['Employee ID', 'Prénom', 'Last Name'],
  );
});

test('mapping suggestions: bad requests', async () => {
  const none = await call('POST', '/v1/mapping-suggestions', 'acme', { templateId: 'fn_profile_import' });
  assert.deepEqual([none.status, none.body.error.code], [400, 'invalid_request']);
  const unknown = await call('POST', '/v1/mapping-suggestions', 'acme', { templateId: 'nope', header: ['a'] });
  assert.deepEqual([unknown.status, unknown.body.error.code], [400, 'unknown_template']);
  const empty = await call('POST', '/v1/mapping-suggestions', 'acme', { templateId: 'fn_profile_import', sample: '' });
  assert.deepEqual([empty.status, empty.body.error.code], [400, 'invalid_sample']);
  assert.equal(empty.body.error.problems[0].code, 'empty_file');
  const foreign = await call('POST', '/v1/mapping-suggestions', 'globex', {
    templateId: 'fn_profile_import',
    header: ['a'],
    jobId: 'hr-profile',
  });
  assert.equal(foreign.status, 404, "another organization's job");
});

test('local tokens are verified as JWTs: a fourth segment is refused; the Bearer scheme is case-insensitive', async () => {
  const token = issuer.issue('acme');
  const get = (authorization: string) => app.request('/v1/runs', { headers: { authorization } });
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) assert.equal((await get(`${scheme} ${token}`)).status, 200);
  assert.equal((await get(`Bearer ${token}.extra`)).status, 401, 'a fourth segment');
  assert.equal((await get(`Bearer ${token}.`)).status, 401);
  const [header, payload, signature] = token.split('.');
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
  assert.equal((await get(`Bearer ${none}`)).status, 401, 'alg none');
  assert.equal((await get(`Bearer ${header}.${payload}.${signature}x`)).status, 401, 'a changed signature');
  assert.equal((await get(`Bearer ${localIssuer('test-secret').issue('acme', -10)}`)).status, 401, 'expired');
  assert.equal((await get(`Basic ${token}`)).status, 401);
});

test('an over-long or odd run id is a 404, an over-long job id a 400, never a 500', async () => {
  for (const path of [`/v1/runs/${'r'.repeat(5000)}`, `/v1/runs/${'r'.repeat(5000)}/errors`, '/v1/runs/a%00b']) {
    const res = await call('GET', path, 'acme');
    assert.equal(res.status, 404, path.slice(0, 30));
    assert.equal(res.body.error.code, 'not_found');
  }
  const job = await call('GET', `/v1/jobs/${'j'.repeat(5000)}`, 'acme');
  assert.equal(job.status, 400);
  assert.equal(job.body.error.code, 'invalid_job_id');
});

test('a malformed cursor or limit is a 400', async () => {
  const cursors = [
    'not-a-cursor',
    encodeCursor({ org: 'acme' })!, // the right organization, the wrong shape
    encodeCursor({ org: 'acme', jobId: { S: 'x' } })!,
    encodeCursor({ org: 'acme', jobId: 'x', extra: 'y' })!,
    encodeCursor({ org: 'globex', jobId: 'profile' })!,
    encodeCursor(['org', 'acme'] as unknown as Record<string, unknown>)!,
    'x'.repeat(5000),
  ];
  for (const cursor of cursors) {
    const res = await call('GET', `/v1/jobs?cursor=${encodeURIComponent(cursor)}`, 'acme');
    assert.equal(res.status, 400, cursor.slice(0, 40));
    assert.equal(res.body.error.code, 'invalid_cursor');
  }
  for (const limit of ['0', '-1', 'abc', '1.5']) {
    const res = await call('GET', `/v1/jobs?limit=${limit}`, 'acme');
    assert.equal(res.status, 400, limit);
    assert.equal(res.body.error.code, 'invalid_limit');
  }
});

test('jobs are listed a page at a time, in job id order', async () => {
  for (const id of ['page-c', 'page-a', 'page-b']) {
    assert.equal(
      (await call('PUT', `/v1/jobs/${id}`, 'paging', { templateId: 'fn_profile_import', mapping: [] })).status,
      201,
    );
  }
  const first = await call('GET', '/v1/jobs?limit=2', 'paging');
  assert.deepEqual(
    first.body.jobs.map((j: Json) => j.jobId),
    ['page-a', 'page-b'],
  );
  assert.ok(first.body.next);
  const second = await call('GET', `/v1/jobs?limit=2&cursor=${first.body.next}`, 'paging');
  assert.deepEqual(
    second.body.jobs.map((j: Json) => j.jobId),
    ['page-c'],
  );
  assert.equal(second.body.next, null);
  assert.equal((await call('GET', `/v1/jobs?cursor=${first.body.next}`, 'acme')).status, 400, 'not across orgs');
});

test('value-map keys and field ids named like object properties are a 400 naming them', async () => {
  for (const key of ['__proto__', 'constructor', 'toString']) {
    const res = await app.request('/v1/jobs/reserved', {
      method: 'PUT',
      headers: { ...as('acme').headers, 'content-type': 'application/json' },
      // As text: a JSON object literal with __proto__ would set the prototype instead of sending the key.
      body: `{"templateId":"fn_profile_import","mapping":[{"column":"Status","field":"status","transforms":[{"type":"map","values":{"${key}":"Active"}}]}]}`,
    });
    assert.equal(res.status, 400, key);
    const body = (await res.json()) as Json;
    assert.equal(body.error.code, 'invalid_job');
    assert.match(body.error.problems[0].message, new RegExp(`value map key "${key}" is a reserved name`));
  }
  const custom = await call('PUT', '/v1/jobs/reserved', 'acme', {
    templateId: 'fn_custom_data_import',
    customFields: [{ id: 'constructor', title: 'Key', type: 'string', unique: true }],
    syncKey: 'constructor',
    mapping: [{ column: 'Key', field: 'constructor' }],
  });
  assert.equal(custom.status, 400);
  assert.equal((await call('GET', '/v1/jobs/reserved', 'acme')).status, 404, 'nothing was saved');
});

test('mapping suggestions: headings are bounded in length and number (400 naming the limit)', async () => {
  const long = await call('POST', '/v1/mapping-suggestions', 'acme', {
    templateId: 'fn_profile_import',
    header: ['Employee ID', 'x'.repeat(MAX_HEADING_LENGTH + 1)],
  });
  assert.equal(long.status, 400);
  assert.equal(long.body.error.code, 'column_name_too_long');
  assert.match(long.body.error.message, new RegExp(`column 2: a heading may have at most ${MAX_HEADING_LENGTH}`));
  const sample = await call('POST', '/v1/mapping-suggestions', 'acme', {
    templateId: 'fn_profile_import',
    sample: `Employee ID,${'hiredate'.repeat(1000)}\r\nE1,x\r\n`,
  });
  assert.equal(sample.status, 400);
  // A sample is read as an import reads a file: the reader's own limit, named in the problem.
  assert.equal(sample.body.error.code, 'invalid_sample');
  assert.equal(sample.body.error.problems[0].code, 'column_name_too_long');
  const many = await call('POST', '/v1/mapping-suggestions', 'acme', {
    templateId: 'fn_profile_import',
    header: Array.from({ length: MAX_SUGGESTION_COLUMNS + 1 }, (_, i) => `c${i}`),
  });
  assert.equal(many.status, 400);
  assert.equal(many.body.error.code, 'too_many_columns');
  assert.match(many.body.error.message, new RegExp(`at most ${MAX_SUGGESTION_COLUMNS} columns`));
  const atLimit = await call('POST', '/v1/mapping-suggestions', 'acme', {
    templateId: 'fn_profile_import',
    header: ['Employee ID', 'x'.repeat(MAX_HEADING_LENGTH)],
  });
  assert.equal(atLimit.status, 200);
});

test('pages: decodeCursor accepts exactly a key of the partition', () => {
  const expected = { partition: 'org', partitionValue: 'acme', sort: 'runId' };
  assert.deepEqual(decodeCursor(encodeCursor({ runId: 'r1', org: 'acme' }), expected), { runId: 'r1', org: 'acme' });
  assert.equal(decodeCursor(undefined, expected), undefined);
  assert.throws(() => decodeCursor(encodeCursor({ org: 'acme', runId: '' }), expected), InvalidCursor);
  assert.throws(() => decodeCursor(encodeCursor({ org: 'acme-corp', runId: 'r' }), expected), InvalidCursor);
});
