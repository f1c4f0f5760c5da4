import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApi } from '../../functions/api/app.ts';
import { encodeCursor } from '../../functions/core/pages.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import {
  emptyCounts,
  MAX_COMMENT_LENGTH,
  type Run,
  type RunStatus,
  viewOf,
} from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { MemoryJobs, MemoryRunLog } from '../fixtures/memory-ports.ts';
import { MemoryRunReports } from '../fixtures/memory-reports.ts';
import { contractChecked } from '../support/openapi-contract.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = Record<string, any>;

function run(org: string, runId: string, status: RunStatus): Run {
  return {
    org,
    runId,
    status,
    file: {
      key: `inbound/${org}/fn_profile_import_20261124.csv`,
      name: 'fn_profile_import_20261124.csv',
      size: 10,
      etag: 'e',
    },
    startedAt: '2026-11-24T07:00:00.000Z',
    counts: emptyCounts(),
    warnings: [],
  };
}

async function setup() {
  const log = new MemoryRunLog();
  for (const r of [
    run('acme', 'r1', 'incomplete'),
    run('acme', 'r2', 'completed'),
    run('acme', 'r3', 'interrupted'),
    run('acme', 'r4', 'running'),
    run('globex', 'g1', 'interrupted'),
  ]) {
    await log.save(r);
  }
  await log.addErrors('acme', 'r1', [
    { row: 2, problems: [{ code: 'invalid_email', message: 'row 2: email' }], values: ['x'] },
    { row: 5, problems: [{ code: 'required', message: 'row 5: required' }], values: ['y'] },
    { row: 9, problems: [{ code: 'required', message: 'row 9: required' }], values: ['z'] },
  ]);
  const issuer = localIssuer('test-secret');
  const clock = { now: () => new Date('2026-11-25T09:30:00.000Z') };
  // Every request and answer is checked against schemas/openapi.json (test/support/openapi-contract.ts).
  const app = contractChecked(
    createApi({
      storesFor: () => ({
        reports: new MemoryRunReports(log),
        jobs: new MemoryJobs([defaultImportJob('acme', 'fn_profile_import', 'p')]) as never,
      }),
      catalog: templates,
      clock,
      random: { token: () => 'abc123' },
      authenticate: localAuthenticate(issuer),
    }),
  );
  const call = async (method: string, path: string, org: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${issuer.issue(org)}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  return { log, call };
}

test('viewOf: failed runs need attention until acknowledged; completed runs are completed; running ones neither', () => {
  assert.equal(viewOf({ status: 'interrupted' }), 'needs-attention');
  assert.equal(viewOf({ status: 'incomplete' }), 'needs-attention');
  assert.equal(viewOf({ status: 'incomplete', acknowledged: { by: 'u', at: 't' } }), undefined);
  assert.equal(viewOf({ status: 'completed' }), 'completed');
  assert.equal(viewOf({ status: 'running' }), 'running');
});

test('lists only the caller organization runs, newest first, with the files and without key attributes', async () => {
  const { call } = await setup();
  const { body } = await call('GET', '/v1/runs', 'acme');
  assert.deepEqual(
    body.runs.map((r: Json) => r.runId),
    ['r4', 'r3', 'r2', 'r1'],
  );
  assert.ok(body.runs.every((r: Json) => !('org' in r)));
  assert.equal(body.runs[0].files[0].path, '/inbound/fn_profile_import_20261124.csv');
});

test('views: needs-attention and completed; a wrong view is a 400 naming the field', async () => {
  const { call } = await setup();
  const attention = await call('GET', '/v1/runs?view=needs-attention', 'acme');
  assert.deepEqual(
    attention.body.runs.map((r: Json) => r.runId),
    ['r3', 'r1'],
  );
  const completed = await call('GET', '/v1/runs?view=completed', 'acme');
  assert.deepEqual(
    completed.body.runs.map((r: Json) => r.runId),
    ['r2'],
  );
  const bad = await call('GET', '/v1/runs?view=failed', 'acme');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_view');
  assert.equal(bad.body.error.problems[0].column, 'view');
});

test('a view pages with its own cursors; a cursor of another list or organization is a 400', async () => {
  const { call } = await setup();
  const first = await call('GET', '/v1/runs?view=needs-attention&limit=1', 'acme');
  assert.deepEqual(
    first.body.runs.map((r: Json) => r.runId),
    ['r3'],
  );
  const second = await call('GET', `/v1/runs?view=needs-attention&limit=1&cursor=${first.body.next}`, 'acme');
  assert.deepEqual(
    second.body.runs.map((r: Json) => r.runId),
    ['r1'],
  );
  assert.equal(second.body.next, null);
  // The cursor of the full list is not one of the view's.
  const full = await call('GET', '/v1/runs?limit=1', 'acme');
  assert.equal((await call('GET', `/v1/runs?view=needs-attention&cursor=${full.body.next}`, 'acme')).status, 400);
  const foreign = encodeCursor({ listedIn: 'globex#needs-attention', org: 'globex', runId: 'g2' });
  const out = await call('GET', `/v1/runs?view=needs-attention&cursor=${foreign}`, 'acme');
  assert.equal(out.status, 400);
  assert.equal(out.body.error.code, 'invalid_cursor');
});

test('per-row errors of a run, paginated in row order', async () => {
  const { call } = await setup();
  const first = await call('GET', '/v1/runs/r1/errors?limit=2', 'acme');
  assert.deepEqual(
    first.body.errors.map((e: Json) => e.row),
    [2, 5],
  );
  const rest = await call('GET', `/v1/runs/r1/errors?limit=2&cursor=${first.body.next}`, 'acme');
  assert.deepEqual(
    rest.body.errors.map((e: Json) => e.row),
    [9],
  );
  assert.equal((await call('GET', '/v1/runs/r1/errors?limit=zero', 'acme')).status, 400);
});

test("another organization's run is a 404 exactly like a missing one, for reads and writes", async () => {
  const { call, log } = await setup();
  for (const [method, suffix, body] of [
    ['GET', '', undefined],
    ['GET', '/errors', undefined],
    ['POST', '/comments', { text: 'looked at it' }],
    ['POST', '/acknowledge', undefined],
  ] as const) {
    const foreign = await call(method, `/v1/runs/g1${suffix}`, 'acme', body);
    const missing = await call(method, `/v1/runs/nope${suffix}`, 'acme', body);
    assert.equal(foreign.status, 404, `${method} ${suffix}`);
    assert.deepEqual(foreign.body, missing.body);
  }
  const g1 = await log.get('globex', 'g1');
  assert.equal(g1?.comments, undefined);
  assert.equal(g1?.acknowledged, undefined);
});

test('a comment takes its author and time from the token and the clock, not from the body', async () => {
  const { call } = await setup();
  const out = await call('POST', '/v1/runs/r1/comments', 'acme', { text: '  HR resent the file  ', author: 'forged' });
  assert.equal(out.status, 201);
  assert.deepEqual(out.body.comment, {
    commentId: '20261125T093000000Z-abc123',
    author: 'local-admin@acme',
    at: '2026-11-25T09:30:00.000Z',
    text: 'HR resent the file',
  });
  const shown = await call('GET', '/v1/runs/r1', 'acme');
  assert.deepEqual(shown.body.run.comments, [out.body.comment]);
});

test('a bad comment is a 400 naming the field', async () => {
  const { call } = await setup();
  for (const body of [{}, { text: '   ' }, { text: 42 }, { text: 'x'.repeat(MAX_COMMENT_LENGTH + 1) }]) {
    const out = await call('POST', '/v1/runs/r1/comments', 'acme', body);
    assert.equal(out.status, 400);
    assert.equal(out.body.error.problems[0].column, 'text');
  }
  assert.equal((await call('POST', '/v1/runs/r1/comments', 'acme', 'not json')).status, 400);
});

test('acknowledging takes a failed run off Need Attention once; a repeat answers the first acknowledgement', async () => {
  const { call } = await setup();
  const ack = await call('POST', '/v1/runs/r3/acknowledge', 'acme');
  assert.equal(ack.status, 200);
  assert.deepEqual(ack.body.acknowledged, { by: 'local-admin@acme', at: '2026-11-25T09:30:00.000Z' });
  const attention = await call('GET', '/v1/runs?view=needs-attention', 'acme');
  assert.deepEqual(
    attention.body.runs.map((r: Json) => r.runId),
    ['r1'],
  );
  const again = await call('POST', '/v1/runs/r3/acknowledge', 'acme');
  assert.deepEqual(again.body.acknowledged, ack.body.acknowledged);
  for (const id of ['r2', 'r4']) {
    const out = await call('POST', `/v1/runs/${id}/acknowledge`, 'acme');
    assert.equal(out.status, 409);
    assert.equal(out.body.error.code, 'not_acknowledgeable');
  }
});
