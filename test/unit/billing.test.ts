/**
 * Billing rules (functions/core/billing.ts) and the Billing report's route (GET /v1/billing), every answer checked
 * against schemas/openapi.json.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApi } from '../../functions/api/app.ts';
import { billingUsage, isPeriod, periodBounds, periodOf } from '../../functions/core/billing.ts';
import type { BillingReports } from '../../functions/core/ports.ts';
import { demoUsers, localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { MemoryRunLog } from '../fixtures/memory-ports.ts';
import { MemoryRunReports } from '../fixtures/memory-reports.ts';
import { contractChecked } from '../support/openapi-contract.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = Record<string, any>;

test('the period of an instant is its UTC month, also at the boundary', () => {
  assert.equal(periodOf(new Date('2026-11-30T23:59:59.999Z')), '2026-11');
  assert.equal(periodOf(new Date('2026-12-01T00:00:00.000Z')), '2026-12');
  // 16:30 on 30 November in Los Angeles is already December in UTC: the period is UTC's, whatever the zone.
  assert.equal(periodOf(new Date('2026-11-30T16:30:00-08:00')), '2026-12');
  assert.equal(periodOf(new Date('2026-12-31T23:59:59.999Z')), '2026-12');
  assert.equal(periodOf(new Date('2027-01-01T00:00:00.000Z')), '2027-01');
});

test('a period runs from the first of its month to the first of the next (exclusive), across years and leap days', () => {
  assert.deepEqual(periodBounds('2026-12'), {
    start: new Date('2026-12-01T00:00:00.000Z'),
    end: new Date('2027-01-01T00:00:00.000Z'),
  });
  assert.equal(periodBounds('2028-02').end.toISOString(), '2028-03-01T00:00:00.000Z');
  const { start, end } = periodBounds('2026-11');
  assert.equal(periodOf(start), '2026-11');
  assert.equal(periodOf(new Date(end.getTime() - 1)), '2026-11');
  assert.equal(periodOf(end), '2026-12');
  for (const bad of ['2026-13', '2026-00', '2026-1', '26-11', '2026-11-01', '', '2026/11']) {
    assert.equal(isPeriod(bad), false, bad);
    assert.throws(() => periodBounds(bad), /YYYY-MM/);
  }
});

test('usage: unused is what is left of the limit, never negative; no limit, no unused; jobs by id', () => {
  const u = billingUsage(
    '2026-11',
    100,
    40,
    new Map([
      ['job-b', 15],
      ['job-a', 25],
      ['job-c', 0],
    ]),
  );
  assert.deepEqual(u, {
    period: '2026-11',
    periodStart: '2026-11-01T00:00:00.000Z',
    periodEnd: '2026-12-01T00:00:00.000Z',
    limit: 100,
    used: 40,
    unused: 60,
    jobs: [
      { jobId: 'job-a', records: 25 },
      { jobId: 'job-b', records: 15 },
    ],
  });
  // A limit lowered below what was used: nothing is left, not a negative count.
  assert.equal(billingUsage('2026-11', 30, 40, new Map()).unused, 0);
  assert.deepEqual(
    [billingUsage('2026-11', undefined, 7, new Map()).limit, billingUsage('2026-11', undefined, 7, new Map()).unused],
    [null, null],
  );
});

/** Counters per organization and period, as the Organizations item holds them. */
class MemoryBillingReports implements BillingReports {
  readonly asked: string[] = [];
  constructor(
    private readonly data: Record<string, { limit: number; periods: Record<string, Record<string, number>> }>,
  ) {}
  async usage(org: string, period: string) {
    this.asked.push(`${org} ${period}`);
    const jobs = this.data[org]?.periods[period] ?? {};
    const used = Object.values(jobs).reduce((a, b) => a + b, 0);
    return billingUsage(period, this.data[org]?.limit, used, new Map(Object.entries(jobs)));
  }
}

function setup() {
  const issuer = localIssuer('billing-secret');
  const billing = new MemoryBillingReports({
    acme: { limit: 1000, periods: { '2026-11': { 'job-1': 300, 'job-2': 50 }, '2026-10': { 'job-1': 999 } } },
    globex: { limit: 5, periods: { '2026-11': { 'job-9': 5 } } },
  });
  const app = contractChecked(
    createApi({
      storesFor: () => ({ reports: new MemoryRunReports(new MemoryRunLog()), jobs: {} as never, billing }),
      clock: { now: () => new Date('2026-11-25T09:30:00.000Z') },
      authenticate: localAuthenticate(issuer),
    }),
  );
  const get = async (path: string, token: string) => {
    const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Json };
  };
  return { issuer, billing, get };
}

test('GET /v1/billing: the current period of the caller organization, for every role', async () => {
  const { issuer, billing, get } = setup();
  for (const user of demoUsers('acme')) {
    const { status, body } = await get('/v1/billing', issuer.issueFor(user));
    assert.equal(status, 200, user.role);
    assert.deepEqual(body, {
      period: '2026-11',
      periodStart: '2026-11-01T00:00:00.000Z',
      periodEnd: '2026-12-01T00:00:00.000Z',
      limit: 1000,
      used: 350,
      unused: 650,
      jobs: [
        { jobId: 'job-1', records: 300 },
        { jobId: 'job-2', records: 50 },
      ],
    });
  }
  assert.ok(billing.asked.every((a) => a === 'acme 2026-11'));
});

test('GET /v1/billing?period=: an earlier period, a period without imports at zero; a bad period is a 400 naming it', async () => {
  const { issuer, get } = setup();
  const token = issuer.issue('acme');
  const october = await get('/v1/billing?period=2026-10', token);
  assert.deepEqual([october.status, october.body.used, october.body.unused], [200, 999, 1]);
  const december = await get('/v1/billing?period=2026-12', token);
  assert.deepEqual([december.body.used, december.body.unused, december.body.jobs], [0, 1000, []]);
  for (const bad of ['2026-13', 'november', '2026-11-01']) {
    const res = await get(`/v1/billing?period=${bad}`, token);
    assert.equal(res.status, 400, bad);
    assert.equal(res.body.error.code, 'invalid_period');
    assert.equal(res.body.error.problems[0].column, 'period');
  }
  const other = await get('/v1/billing', issuer.issue('globex'));
  assert.deepEqual([other.body.limit, other.body.used, other.body.unused], [5, 5, 0]);
  const none = await get('/v1/billing', 'not-a-token');
  assert.equal(none.status, 401);
});

test('GET /v1/billing: the jobs list is paged in job id order; the totals stay the period’s; a foreign cursor is a 400', async () => {
  const { issuer, get } = setup();
  const token = issuer.issue('acme');
  const first = await get('/v1/billing?limit=1', token);
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.jobs, [{ jobId: 'job-1', records: 300 }]);
  assert.equal(first.body.used, 350, 'the totals are the whole period’s');
  assert.equal(typeof first.body.next, 'string');
  const second = await get(`/v1/billing?limit=1&cursor=${first.body.next}`, token);
  assert.deepEqual(second.body.jobs, [{ jobId: 'job-2', records: 50 }]);
  assert.equal(second.body.next, undefined, 'the last page has no next');
  // The cursor is bound to its organization and its period.
  const otherOrg = await get(`/v1/billing?limit=1&cursor=${first.body.next}`, issuer.issue('globex'));
  assert.deepEqual([otherOrg.status, otherOrg.body.error.code], [400, 'invalid_cursor']);
  const otherPeriod = await get(`/v1/billing?period=2026-10&limit=1&cursor=${first.body.next}`, token);
  assert.deepEqual([otherPeriod.status, otherPeriod.body.error.code], [400, 'invalid_cursor']);
  assert.equal((await get('/v1/billing?cursor=garbage', token)).status, 400);
});
