import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scheduledRunId } from '../../functions/core/transfer/job-runs.ts';
import {
  DEFAULT_MISSED_FIRINGS,
  dueFirings,
  findMissedFirings,
  missedFromDeadLetter,
  type ScheduledJob,
} from '../../functions/core/transfer/missed-firings.ts';
import { eventKey } from '../../functions/core/transfer/notifications.ts';

// 02:00 America/Los_Angeles on 24 November 2026 is 10:00 UTC.
const job: ScheduledJob = {
  org: 'acme',
  jobId: 'nightly',
  name: 'Nightly profiles',
  schedule: { kind: 'daily', at: '02:00', timeZone: 'America/Los_Angeles' },
  since: '2026-11-20T00:00:00.000Z',
};
const FIRING = '2026-11-24T10:00:00.000Z';

test('a firing is due once its grace period is over, and not before', () => {
  assert.deepEqual(dueFirings(job, new Date('2026-11-24T10:10:00Z')).map(String), [
    String(new Date('2026-11-23T10:00:00Z')),
  ]);
  const due = dueFirings(job, new Date('2026-11-24T10:16:00Z')).map((d) => d.toISOString());
  assert.deepEqual(due, ['2026-11-23T10:00:00.000Z', FIRING]);
});

test('nothing before the job last changed is owed (launched, resumed or rescheduled after it)', () => {
  const launchedLate = { ...job, since: '2026-11-24T10:05:00.000Z' };
  assert.deepEqual(dueFirings(launchedLate, new Date('2026-11-24T12:00:00Z')), []);
  assert.deepEqual(
    dueFirings(launchedLate, new Date('2026-11-25T10:30:00Z')).map((d) => d.toISOString()),
    ['2026-11-25T10:00:00.000Z'],
  );
});

test('a cron every minute is checked at most maxPerJob times a pass, the newest', () => {
  const busy = { ...job, schedule: { kind: 'cron' as const, expression: '* * * * *', timeZone: 'UTC' } };
  const due = dueFirings(busy, new Date('2026-11-24T12:00:00Z'));
  assert.equal(due.length, DEFAULT_MISSED_FIRINGS.maxPerJob);
  assert.equal(due.at(-1)?.toISOString(), '2026-11-24T11:45:00.000Z');
});

test('a due firing with no recorded run is missed; a recorded one is not', async () => {
  const recorded = new Set<string>([scheduledRunId('nightly', new Date('2026-11-23T10:00:00Z'))]);
  const deps = {
    jobs: { scheduledJobs: async (org: string) => (org === 'acme' ? [job] : []) },
    firings: { has: async (_org: string, runId: string) => recorded.has(runId) },
  };
  const now = new Date('2026-11-24T10:20:00Z');
  const events = await findMissedFirings(deps, 'acme', now);
  assert.equal(events.length, 1);
  const [event] = events;
  assert.equal(event?.kind, 'schedule_missed');
  assert.equal(event && eventKey(event), `schedule_missed#nightly#${FIRING}`);
  recorded.add(scheduledRunId('nightly', new Date(FIRING)));
  assert.deepEqual(await findMissedFirings(deps, 'acme', now), []);
  assert.deepEqual(await findMissedFirings(deps, 'other', now), []);
});

test("a Scheduler dead letter is the schedule's input: the same event key as the watch's check", () => {
  const body = JSON.stringify({
    org: 'acme',
    jobId: 'nightly',
    trigger: 'schedule',
    scheduledTime: '2026-11-24T10:00:00Z',
  });
  const read = missedFromDeadLetter(body, { ERROR_CODE: 'AWS.SQS.KmsAccessDenied', ERROR_MESSAGE: 'denied' });
  assert.ok(read.ok);
  assert.equal(eventKey(read.event), `schedule_missed#nightly#${FIRING}`);
  assert.match(read.event.kind === 'schedule_missed' ? (read.event.reason ?? '') : '', /KmsAccessDenied: denied/);
  assert.equal(missedFromDeadLetter('not json').ok, false);
  assert.equal(missedFromDeadLetter(JSON.stringify({ org: 'acme' })).ok, false);
  const manual = JSON.stringify({ org: 'acme', jobId: 'x', trigger: 'manual', cutoff: FIRING, runId: 'r1' });
  assert.equal(missedFromDeadLetter(manual).ok, false);
});
