/**
 * "A scheduled run that failed to start", found two ways, both ending in one `schedule_missed` notification per
 * firing (notifications.ts eventKey: `schedule_missed#<job>#<time>`, so whichever finds it first sends, the other finds
 * it sent):
 *  (a) EventBridge Scheduler could not deliver a firing (its target, the job-runs queue, refused or was unreachable
 *      past the retries): the firing lands in the schedule's dead-letter queue, whose message is the run request the
 *      schedule would have sent (`missedFromDeadLetter`);
 *  (b) the firing was never made or was lost on the way: the run watch compares each launched, unpaused scheduled
 *      job's runs due in the look-back window with the recorded firings (FiringRunLog, keyed `scheduledRunId`); a due
 *      time older than the grace period with no firing run is missed (`dueFirings`, `findMissedFirings`).
 *
 * Only times at or after the job's last change (`updatedAt`: launched, resumed, rescheduled) count: a firing before a
 * job was launched or while it was paused was never owed. Pure: the clock and the stores are passed in.
 */

import { readJobRunRequest, scheduledRunId } from './job-runs.ts';
import type { NotificationEvent } from './notifications.ts';
import { nextRuns, type Schedule } from './schedules.ts';

export interface MissedFiringSettings {
  /** A firing's run is recorded within seconds; one missing this long after its time is missed (15 minutes). */
  graceMs: number;
  /** How far back the watch looks (26 hours: a daily job's firing is checked by many passes, a day-long outage too). */
  lookbackMs: number;
  /** At most this many due times per job and pass (a cron every minute must not turn a pass into thousands of reads). */
  maxPerJob: number;
}

export const DEFAULT_MISSED_FIRINGS: MissedFiringSettings = {
  graceMs: 15 * 60_000,
  lookbackMs: 26 * 3600_000,
  maxPerJob: 60,
};

/** A job as the check needs it: launched, scheduled and not paused (the store returns only those). */
export interface ScheduledJob {
  org: string;
  jobId: string;
  name?: string;
  schedule: Schedule;
  /** When the job last changed (ISO): nothing before it is owed. */
  since?: string;
}

/** The job's firings due in the window: after max(since, now - lookback), at or before now - grace; newest last. */
export function dueFirings(
  job: ScheduledJob,
  now: Date,
  settings: MissedFiringSettings = DEFAULT_MISSED_FIRINGS,
): Date[] {
  const until = now.getTime() - settings.graceMs;
  const sinceJob = job.since ? Date.parse(job.since) : Number.NaN;
  const from = Math.max(now.getTime() - settings.lookbackMs, Number.isFinite(sinceJob) ? sinceJob : -Infinity);
  if (from >= until) return [];
  const due: Date[] = [];
  let after = new Date(from);
  for (;;) {
    const runs = nextRuns(job.schedule, after, 50).filter((r) => r.getTime() <= until);
    due.push(...runs);
    if (runs.length < 50) break;
    after = runs[runs.length - 1]!;
  }
  return due.slice(-settings.maxPerJob);
}

export interface MissedFiringDeps {
  jobs: { scheduledJobs(org: string): Promise<ScheduledJob[]> };
  firings: { has(org: string, runId: string): Promise<boolean> };
}

/** The schedule_missed events of one organization: every due firing with no recorded run. */
export async function findMissedFirings(
  deps: MissedFiringDeps,
  org: string,
  now: Date,
  settings: MissedFiringSettings = DEFAULT_MISSED_FIRINGS,
): Promise<NotificationEvent[]> {
  const events: NotificationEvent[] = [];
  for (const job of await deps.jobs.scheduledJobs(org)) {
    for (const at of dueFirings(job, now, settings)) {
      if (await deps.firings.has(org, scheduledRunId(job.jobId, at))) continue;
      events.push({
        kind: 'schedule_missed',
        org,
        jobId: job.jobId,
        ...(job.name ? { jobName: job.name } : {}),
        expectedAt: at.toISOString(),
        reason: `no run was started for it within ${Math.round(settings.graceMs / 60_000)} minutes of its time`,
      });
    }
  }
  return events;
}

/**
 * The event of a firing EventBridge Scheduler could not deliver: the dead-letter message's body is the schedule's
 * input (the run request), its attributes say why (ERROR_CODE, ERROR_MESSAGE, as Scheduler documents). A body that is
 * not a scheduled run request is no firing: a problem, for the caller to log.
 */
export function missedFromDeadLetter(
  body: string,
  attributes: Record<string, string | undefined> = {},
): { ok: true; event: NotificationEvent } | { ok: false; problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'the dead letter is not JSON' };
  }
  const read = readJobRunRequest(parsed);
  if (!read.ok) return { ok: false, problem: read.problem.message };
  if (read.request.trigger !== 'schedule') return { ok: false, problem: 'the dead letter is not a scheduled firing' };
  const code = attributes.ERROR_CODE;
  const message = attributes.ERROR_MESSAGE;
  return {
    ok: true,
    event: {
      kind: 'schedule_missed',
      org: read.request.org,
      jobId: read.request.jobId,
      expectedAt: read.request.cutoff,
      reason: `EventBridge Scheduler could not deliver the firing${code ? ` (${code}${message ? `: ${message.slice(0, 200)}` : ''})` : ''}`,
    },
  };
}
