/**
 * The Billing report (core/billing.ts): the organization's allowed record limit in a billing period (a UTC month),
 * with the records used and unused and the records processed per job.
 *
 *   GET /v1/billing[?period=YYYY-MM][&limit=][&cursor=]
 *     -> 200 { period, periodStart, periodEnd, limit, used, unused, jobs, next? } | 400
 *
 * Without `period` the current one (by the API's clock). Every role may read it (a read, so roleGuard lets case
 * managers and viewers through). `jobs` is paged like every list of the API (in job id order; `next` is the cursor
 * of the following page, bound to the organization and the period); the totals are the period's, on every page.
 */
import { Hono } from 'hono';
import { isPeriod, periodOf } from '../core/billing.ts';
import { decodeCursor, encodeCursor } from '../core/pages.ts';
import { type BillingReports, type Clock, systemClock } from '../core/ports.ts';
import { ApiError } from './errors.ts';
import { pageSize } from './paging.ts';

/** What the /v1 middleware sets before this route runs. */
export type BillingEnv = { Variables: { org: string; stores: { billing?: BillingReports } } };

export interface BillingApiDependencies {
  clock?: Clock;
}

function periodParam(raw: string | undefined, now: Date): string {
  if (raw === undefined || raw === '') return periodOf(now);
  if (isPeriod(raw)) return raw;
  throw new ApiError(400, 'invalid_period', `period: expected a month as YYYY-MM, not "${raw.slice(0, 40)}"`, [
    { code: 'invalid_period', message: 'period must be a month as YYYY-MM (01-12)', column: 'period' },
  ]);
}

export function billingRoutes(deps: BillingApiDependencies = {}): Hono<BillingEnv> {
  const clock = deps.clock ?? systemClock;
  const app = new Hono<BillingEnv>();
  app.get('/billing', async (c) => {
    const period = periodParam(c.req.query('period'), clock.now());
    const billing = c.get('stores').billing;
    if (!billing) throw new Error('the API was built without the billing store');
    const org = c.get('org');
    const limit = pageSize(c.req.query('limit'));
    const after = decodeCursor(c.req.query('cursor'), {
      partition: 'org',
      partitionValue: org,
      sort: 'jobId',
      fixed: { period },
    })?.jobId;
    const usage = await billing.usage(org, period);
    const sorted = [...usage.jobs].sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
    const rest = after === undefined ? sorted : sorted.filter((j) => j.jobId > after);
    const jobs = rest.slice(0, limit);
    const next = rest.length > limit ? encodeCursor({ org, period, jobId: jobs[jobs.length - 1]!.jobId }) : undefined;
    return c.json({ ...usage, jobs, ...(next ? { next } : {}) }, 200);
  });
  return app;
}
