/**
 * Billing rules: an organization may import `allowedRecords` records per billing period. The period is the calendar
 * month in UTC (`YYYY-MM`, from the first day 00:00 UTC to the first of the next month, exclusive), not the
 * organization's time zone: the limit is a contract figure and UTC gives every organization, every function and the
 * report one answer without a zone to configure. A processed (billed) record is a record an import created or
 * updated, as the engine's reservation counts today; unchanged, skipped, failed and over-limit rows are free.
 *
 * The counters are kept per period (an attribute per `YYYY-MM`), so a new month starts at zero without a reset job.
 * Pure: the time is passed in.
 */

/** A billing period, `YYYY-MM` (UTC month). */
export type BillingPeriod = string;

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The period `at` falls in (its UTC month). */
export function periodOf(at: Date): BillingPeriod {
  return at.toISOString().slice(0, 7);
}

/** Whether `text` is a period (`YYYY-MM`, month 01-12). */
export function isPeriod(text: string): boolean {
  return PERIOD.test(text);
}

/** The period's start (inclusive) and end (exclusive), as instants. Throws on a text that is not a period. */
export function periodBounds(period: BillingPeriod): { start: Date; end: Date } {
  const m = PERIOD.exec(period);
  if (!m) throw new Error(`not a billing period (YYYY-MM): ${period}`);
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) };
}

/** What an organization used in one period, as the Billing report shows it. */
export interface BillingUsage {
  period: BillingPeriod;
  /** ISO instants: start inclusive, end exclusive. */
  periodStart: string;
  periodEnd: string;
  /** The allowed record limit, or null when the organization has none. */
  limit: number | null;
  used: number;
  /** limit - used, never below 0; null without a limit. */
  unused: number | null;
  /** Records processed per job in the period, by job id (jobs that processed none are absent). */
  jobs: { jobId: string; records: number }[];
}

/** The report of one period from the stored counters. */
export function billingUsage(
  period: BillingPeriod,
  limit: number | undefined,
  used: number,
  perJob: ReadonlyMap<string, number>,
): BillingUsage {
  const { start, end } = periodBounds(period);
  return {
    period,
    periodStart: start.toISOString(),
    periodEnd: end.toISOString(),
    limit: limit ?? null,
    used,
    unused: limit === undefined ? null : Math.max(0, limit - used),
    jobs: [...perJob]
      .filter(([, n]) => n > 0)
      .map(([jobId, records]) => ({ jobId, records }))
      .sort((a, b) => a.jobId.localeCompare(b.jobId)),
  };
}
