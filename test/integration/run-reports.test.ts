/**
 * The run reports on DynamoDB Local: the run log's saves keep the reports' lists (index byList), comments and
 * acknowledgements are conditional updates that survive the run's own saves, and everything is the caller's only.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbRunReports } from '../../functions/adapters/dynamodb-reports.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { createApi } from '../../functions/api/app.ts';
import type { RunLog, RunReports } from '../../functions/core/ports.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { emptyCounts, type Run, type RunStatus } from '../../functions/core/transfer/runs.ts';
import { localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { MemoryJobs } from '../fixtures/memory-ports.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let log: RunLog;
let reports: RunReports;
let app: ReturnType<typeof createApi>;
const issuer = localIssuer('integration-secret');

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
      size: 1,
      etag: 'e',
    },
    startedAt: '2026-11-24T07:00:00.000Z',
    counts: emptyCounts(),
    warnings: [],
  };
}

before(async () => {
  parts = await startLocalParts({ s3: false });
  db = dynamoDbDocumentClient(parts.config);
  log = dynamoDbRunLog(db, { env: parts.env });
  reports = dynamoDbRunReports(db, parts.env);
  const jobs = new MemoryJobs([defaultImportJob('acme', 'fn_profile_import', 'p')]);
  app = createApi({ storesFor: () => ({ reports, jobs: jobs as never }), authenticate: localAuthenticate(issuer) });
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

const ids = (body: Json) => body.runs.map((r: Json) => r.runId);

test('the lists follow the runs: running in none, then Completed Runs or Need Attention', async () => {
  await log.save(run('acme', '20261124T070000000Z-aaaaaa', 'running'));
  await log.save(run('acme', '20261124T070100000Z-bbbbbb', 'running'));
  await log.save(run('globex', '20261124T070200000Z-gggggg', 'interrupted'));
  assert.deepEqual(ids((await call('GET', '/v1/runs?view=needs-attention', 'acme')).body), []);
  await log.save(run('acme', '20261124T070000000Z-aaaaaa', 'completed'));
  await log.save(run('acme', '20261124T070100000Z-bbbbbb', 'incomplete'));
  assert.deepEqual(ids((await call('GET', '/v1/runs?view=completed', 'acme')).body), ['20261124T070000000Z-aaaaaa']);
  assert.deepEqual(ids((await call('GET', '/v1/runs?view=needs-attention', 'acme')).body), [
    '20261124T070100000Z-bbbbbb',
  ]);
  assert.deepEqual(ids((await call('GET', '/v1/runs?view=needs-attention', 'globex')).body), [
    '20261124T070200000Z-gggggg',
  ]);
});

test('comments and an acknowledgement survive the run saves; an acknowledged run is never listed again', async () => {
  const id = '20261124T080000000Z-cccccc';
  await log.save(run('acme', id, 'interrupted'));
  const comment = await call('POST', `/v1/runs/${id}/comments`, 'acme', { text: 'the HR export was cut short' });
  assert.equal(comment.status, 201);
  const ack = await call('POST', `/v1/runs/${id}/acknowledge`, 'acme');
  assert.equal(ack.status, 200);
  assert.equal(ack.body.acknowledged.by, 'local-admin@acme');
  // The import settles the same run again (a retry after a crash): its save knows nothing of the notes.
  await log.save({ ...run('acme', id, 'interrupted'), message: 'saved again' });
  const shown = (await call('GET', `/v1/runs/${id}`, 'acme')).body.run;
  assert.equal(shown.message, 'saved again');
  assert.deepEqual(
    shown.comments.map((c: Json) => [c.author, c.text]),
    [['local-admin@acme', 'the HR export was cut short']],
  );
  assert.deepEqual(shown.acknowledged, ack.body.acknowledged);
  assert.ok(!ids((await call('GET', '/v1/runs?view=needs-attention', 'acme')).body).includes(id));
  // A second acknowledgement keeps the first.
  const again = await call('POST', `/v1/runs/${id}/acknowledge`, 'acme');
  assert.deepEqual(again.body.acknowledged, ack.body.acknowledged);
});

test("another organization's run can be neither commented nor acknowledged, and no run is created by trying", async () => {
  const id = '20261124T070200000Z-gggggg';
  const comment = await call('POST', `/v1/runs/${id}/comments`, 'acme', { text: 'mine now' });
  const missing = await call('POST', '/v1/runs/20261124T070200000Z-zzzzzz/comments', 'acme', { text: 'x' });
  assert.equal(comment.status, 404);
  assert.deepEqual(comment.body, missing.body);
  assert.equal((await call('POST', `/v1/runs/${id}/acknowledge`, 'acme')).status, 404);
  assert.equal(await reports.getRun('acme', id), undefined);
  assert.equal(await reports.getRun('acme', '20261124T070200000Z-zzzzzz'), undefined);
  const theirs = await reports.getRun('globex', id);
  assert.equal(theirs?.comments, undefined);
  assert.equal(theirs?.acknowledged, undefined);
});

test('a view pages through the index with cursors of its own list only', async () => {
  for (let i = 0; i < 5; i++) await log.save(run('paging', `20261124T09000${i}000Z-pppppp`, 'completed'));
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `/v1/runs?view=completed&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await call('GET', q, 'paging')).body;
    seen.push(...ids(page));
    cursor = page.next;
  } while (cursor);
  assert.equal(seen.length, 5);
  assert.deepEqual(seen, [...seen].sort().reverse());
  const first = (await call('GET', '/v1/runs?view=completed&limit=2', 'paging')).body;
  const other = await call('GET', `/v1/runs?view=completed&cursor=${first.next}`, 'acme');
  assert.equal(other.status, 400);
  assert.equal(other.body.error.code, 'invalid_cursor');
});
