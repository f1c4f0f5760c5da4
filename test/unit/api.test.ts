import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunReports } from '../../functions/adapters/dynamodb-reports.ts';
import { createApi } from '../../functions/api/app.ts';
import { localIssuer } from '../../lib/local/local-auth.ts';

// An in-memory read model with two organizations' runs: the API must only ever show the caller's own.
const runs = [
  { org: 'acme', runId: 'r2', status: 'completed' },
  { org: 'acme', runId: 'r1', status: 'incomplete' },
  { org: 'globex', runId: 'g1', status: 'completed' },
];
const errors = [{ orgRun: 'acme#r1', seq: '000002', code: 'invalid_email', row: 2 }];
const reports: RunReports = {
  listRuns: async (org) => ({ items: runs.filter((r) => r.org === org) }),
  getRun: async (org, runId) => runs.find((r) => r.org === org && r.runId === runId),
  listRunErrors: async (org, runId) => ({ items: errors.filter((e) => e.orgRun === `${org}#${runId}`) }),
};
const issuer = localIssuer('test-secret');
const app = createApi({
  reports,
  authenticate: (c) => {
    const token = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    const org = token ? issuer.verify(token)?.['custom:org'] : undefined;
    return typeof org === 'string' ? org : undefined;
  },
});
const as = (org: string) => ({ headers: { authorization: `Bearer ${issuer.issue(org)}` } });

test('health needs no credentials; everything under /v1 does', async () => {
  assert.equal((await app.request('/health')).status, 200);
  assert.equal((await app.request('/v1/runs')).status, 401);
  assert.equal((await app.request('/v1/runs', { headers: { authorization: 'Bearer forged.token.here' } })).status, 401);
  const other = localIssuer('another-secret').issue('acme');
  assert.equal((await app.request('/v1/runs', { headers: { authorization: `Bearer ${other}` } })).status, 401);
});

test('lists only the caller organization runs, without key attributes', async () => {
  const body = (await (await app.request('/v1/runs', as('acme'))).json()) as { runs: Record<string, unknown>[] };
  assert.deepEqual(
    body.runs.map((r) => r.runId),
    ['r2', 'r1'],
  );
  assert.ok(body.runs.every((r) => !('org' in r)));
});

test("another organization's run is not found, even by its exact id", async () => {
  assert.equal((await app.request('/v1/runs/g1', as('acme'))).status, 404);
  assert.equal((await app.request('/v1/runs/g1/errors', as('acme'))).status, 404);
  assert.equal((await app.request('/v1/runs/g1', as('globex'))).status, 200);
});

test('per-row errors of a run', async () => {
  const res = await app.request('/v1/runs/r1/errors', as('acme'));
  const body = (await res.json()) as { errors: Record<string, unknown>[] };
  assert.deepEqual(body.errors, [{ seq: '000002', code: 'invalid_email', row: 2 }]);
});
