/**
 * The Billing report (core/billing.ts): the organization's allowed record limit in a billing period (a UTC month),
 * with the records used and unused and the records processed per job.
 *
 *   GET /v1/billing[?period=YYYY-MM]   -> 200 { period, periodStart, periodEnd, limit, used, unused, jobs } | 400
 *
 * Without `period` the current one (by the API's clock). Every role may read it (a read, so roleGuard lets case
 * managers and viewers through). `jobs` is not paged: it holds one entry per job that processed records in the
 * period, which an organization's handful of jobs bounds.
 */
import { Hono } from 'hono';
import { isPeriod, periodOf } from '../core/billing.ts';
import { type BillingReports, type Clock, systemClock } from '../core/ports.ts';
import { ApiError } from './errors.ts';

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
    return c.json(await billing.usage(c.get('org'), period), 200);
  });
  return app;
}
