import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cronProblems,
  DEFAULT_SCHEDULE,
  eventBridgeAt,
  eventBridgeSchedule,
  isRunOf,
  nextRuns,
  readSchedule,
  type Schedule,
  shiftedRuns,
  wallClock,
} from '../../functions/core/transfer/schedules.ts';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const walls = (dates: Date[], tz: string) => dates.map((d) => wallClock(d, tz));
const daily = (at: string, timeZone: string): Schedule => ({ kind: 'daily', at, timeZone });

test('Los Angeles spring forward (8 March 2026): a 02:00 job runs once, at 03:00 PDT', () => {
  const runs = nextRuns(daily('02:00', 'America/Los_Angeles'), new Date('2026-03-07T00:00:00Z'), 3);
  assert.deepEqual(iso(runs), ['2026-03-07T10:00:00.000Z', '2026-03-08T10:00:00.000Z', '2026-03-09T09:00:00.000Z']);
  assert.deepEqual(walls(runs, 'America/Los_Angeles'), ['2026-03-07 02:00', '2026-03-08 03:00', '2026-03-09 02:00']);
});

test('Los Angeles fall back (1 November 2026): a 01:30 job runs once, at the first 01:30 (PDT)', () => {
  const s = daily('01:30', 'America/Los_Angeles');
  const runs = nextRuns(s, new Date('2026-10-31T12:00:00Z'), 2);
  assert.deepEqual(iso(runs), ['2026-11-01T08:30:00.000Z', '2026-11-02T09:30:00.000Z']);
  // Asked between the two passes of 01:30 (01:45 PDT), the second 01:30 (PST) is not a run either.
  assert.deepEqual(iso(nextRuns(s, new Date('2026-11-01T08:45:00Z'), 1)), ['2026-11-02T09:30:00.000Z']);
  // A 02:00 job on that day runs once too: 02:00 exists once (PST).
  assert.deepEqual(iso(nextRuns(daily('02:00', 'America/Los_Angeles'), new Date('2026-10-31T12:00:00Z'), 2)), [
    '2026-11-01T10:00:00.000Z',
    '2026-11-02T10:00:00.000Z',
  ]);
});

test('Berlin (29 March and 25 October 2026): 02:30 runs once on both days', () => {
  const s = daily('02:30', 'Europe/Berlin');
  const spring = nextRuns(s, new Date('2026-03-28T12:00:00Z'), 2);
  assert.deepEqual(walls(spring, 'Europe/Berlin'), ['2026-03-29 03:00', '2026-03-30 02:30']);
  assert.deepEqual(iso(spring), ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  const autumn = nextRuns(s, new Date('2026-10-24T12:00:00Z'), 2);
  assert.deepEqual(iso(autumn), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
});

test('Sydney (spring forward 4 October, fall back 5 April 2026): 02:00 and 02:30 run once', () => {
  const spring = nextRuns(daily('02:00', 'Australia/Sydney'), new Date('2026-10-03T00:00:00Z'), 2);
  assert.deepEqual(walls(spring, 'Australia/Sydney'), ['2026-10-04 03:00', '2026-10-05 02:00']);
  const autumn = nextRuns(daily('02:30', 'Australia/Sydney'), new Date('2026-04-04T00:00:00Z'), 2);
  assert.deepEqual(iso(autumn), ['2026-04-04T15:30:00.000Z', '2026-04-05T16:30:00.000Z']);
});

test('an interval cron skips the gap and runs a repeated hour once', () => {
  const s: Schedule = { kind: 'cron', expression: '0 * * * *', timeZone: 'America/Los_Angeles' };
  const spring = walls(nextRuns(s, new Date('2026-03-08T08:30:00Z'), 3), 'America/Los_Angeles');
  assert.deepEqual(spring, ['2026-03-08 01:00', '2026-03-08 03:00', '2026-03-08 04:00']);
  const autumn = nextRuns(s, new Date('2026-11-01T07:30:00Z'), 3);
  assert.deepEqual(walls(autumn, 'America/Los_Angeles'), ['2026-11-01 01:00', '2026-11-01 02:00', '2026-11-01 03:00']);
  assert.deepEqual(iso(autumn), ['2026-11-01T08:00:00.000Z', '2026-11-01T10:00:00.000Z', '2026-11-01T11:00:00.000Z']);
});

test('weekly, monthly and last-day schedules', () => {
  const tz = 'America/New_York';
  const weekly: Schedule = { kind: 'weekly', days: ['MON', 'FRI'], at: '06:15', timeZone: tz };
  assert.deepEqual(walls(nextRuns(weekly, new Date('2026-12-02T00:00:00Z'), 3), tz), [
    '2026-12-04 06:15',
    '2026-12-07 06:15',
    '2026-12-11 06:15',
  ]);
  const last: Schedule = { kind: 'monthly', day: 'last', at: '23:00', timeZone: tz };
  assert.deepEqual(walls(nextRuns(last, new Date('2027-01-15T00:00:00Z'), 3), tz), [
    '2027-01-31 23:00',
    '2027-02-28 23:00',
    '2027-03-31 23:00',
  ]);
  const fifth: Schedule = { kind: 'monthly', day: 5, at: '00:00', timeZone: tz };
  assert.deepEqual(walls(nextRuns(fifth, new Date('2026-12-05T05:00:00Z'), 2), tz), [
    '2027-01-05 00:00',
    '2027-02-05 00:00',
  ]);
});

test('readSchedule names the field at fault', () => {
  const problems = (input: unknown) => {
    const r = readSchedule(input);
    return r.ok ? [] : r.problems.map((p) => p.message.split(':')[0]);
  };
  assert.deepEqual(problems({ kind: 'daily', at: '2:00', timeZone: 'America/Los_Angeles' }), ['schedule.at']);
  assert.deepEqual(problems({ kind: 'daily', at: '02:00', timeZone: 'Mars/Olympus' }), ['schedule.timeZone']);
  assert.deepEqual(problems({ kind: 'hourly' }), ['schedule.kind']);
  assert.deepEqual(problems({ kind: 'weekly', days: ['MON', 'FUN'], at: '02:00', timeZone: 'UTC' }), [
    'schedule.days[1]',
  ]);
  assert.deepEqual(problems({ kind: 'monthly', day: 31, at: '02:00', timeZone: 'UTC' }), ['schedule.day']);
  assert.deepEqual(problems({ kind: 'daily', at: '02:00', timeZone: 'UTC', days: [] }), ['schedule.days']);
  assert.deepEqual(problems({ kind: 'cron', expression: '0 2 * *', timeZone: 'UTC' }), ['schedule.expression']);
  const ok = readSchedule({ kind: 'weekly', days: ['FRI', 'MON'], at: '02:00', timeZone: 'Europe/Berlin' });
  assert.deepEqual(ok, {
    ok: true,
    schedule: { kind: 'weekly', days: ['MON', 'FRI'], at: '02:00', timeZone: 'Europe/Berlin' },
  });
});

test('cronProblems: fields in range, one day field, the forms both croner and EventBridge read', () => {
  assert.deepEqual(cronProblems('30 2 * * MON-FRI'), []);
  assert.deepEqual(cronProblems('*/15 8-18 * * *'), []);
  assert.deepEqual(cronProblems('0 2 L * *'), []);
  assert.deepEqual(cronProblems('0 2 * * 5#2'), []);
  assert.match(cronProblems('0 24 * * *')[0]!, /hour field "24": 24 is outside 0-23/);
  assert.match(cronProblems('0 2 1 * 1')[0]!, /either the day of month or the day of week/);
  assert.match(cronProblems('0 2 ? * *')[0]!, /day of month field "\?"/);
  assert.match(cronProblems('0 0 2 * * *')[0]!, /five fields/);
});

test('the EventBridge expression of each kind', () => {
  assert.deepEqual(eventBridgeSchedule(DEFAULT_SCHEDULE), {
    expression: 'cron(0 2 * * ? *)',
    timezone: 'America/Los_Angeles',
  });
  const tz = 'Europe/Berlin';
  const eb = (s: Schedule) => eventBridgeSchedule(s).expression;
  assert.equal(eb({ kind: 'weekly', days: ['SUN', 'MON', 'SAT'], at: '06:05', timeZone: tz }), 'cron(5 6 ? * 1,2,7 *)');
  assert.equal(eb({ kind: 'monthly', day: 'last', at: '23:59', timeZone: tz }), 'cron(59 23 L * ? *)');
  assert.equal(eb({ kind: 'monthly', day: 15, at: '00:00', timeZone: tz }), 'cron(0 0 15 * ? *)');
  assert.equal(eb({ kind: 'cron', expression: '*/15 8-18 * * mon-fri', timeZone: tz }), 'cron(0/15 8-18 ? * 2-6 *)');
  assert.equal(eb({ kind: 'cron', expression: '0 2 * * 5-7', timeZone: tz }), 'cron(0 2 ? * 6,7,1 *)');
  assert.equal(eb({ kind: 'cron', expression: '0 2 * * FRI#2', timeZone: tz }), 'cron(0 2 ? * 6#2 *)');
  assert.equal(eb({ kind: 'cron', expression: '0 2 * JAN,JUL *', timeZone: tz }), 'cron(0 2 * 1,7 ? *)');
  assert.deepEqual(eventBridgeAt(new Date('2026-03-08T10:00:00Z')), {
    expression: 'at(2026-03-08T10:00:00)',
    timezone: 'UTC',
  });
});

test('shiftedRuns: exactly the spring-forward runs EventBridge skips, in each zone', () => {
  const year = [new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z')] as const;
  assert.deepEqual(iso(shiftedRuns(daily('02:00', 'America/Los_Angeles'), ...year)), ['2026-03-08T10:00:00.000Z']);
  assert.deepEqual(iso(shiftedRuns(daily('02:30', 'Europe/Berlin'), ...year)), ['2026-03-29T01:00:00.000Z']);
  assert.deepEqual(iso(shiftedRuns(daily('02:00', 'Australia/Sydney'), ...year)), ['2026-10-03T16:00:00.000Z']);
  // Outside the gap nothing is shifted; the fall-back day needs nothing extra either (EventBridge runs it once).
  assert.deepEqual(shiftedRuns(daily('01:30', 'America/Los_Angeles'), ...year), []);
  assert.deepEqual(shiftedRuns(daily('02:00', 'UTC'), ...year), []);
  // A weekly job meets the gap only when its day is the DST Sunday.
  const sunday: Schedule = { kind: 'weekly', days: ['SUN'], at: '02:15', timeZone: 'America/Los_Angeles' };
  assert.deepEqual(walls(shiftedRuns(sunday, ...year), 'America/Los_Angeles'), ['2026-03-08 03:00']);
  const monday: Schedule = { kind: 'weekly', days: ['MON'], at: '02:15', timeZone: 'America/Los_Angeles' };
  assert.deepEqual(shiftedRuns(monday, ...year), []);
  // Interval crons skip the gap in croner as in EventBridge.
  assert.deepEqual(shiftedRuns({ kind: 'cron', expression: '*/30 * * * *', timeZone: 'Europe/Berlin' }, ...year), []);
});

test('isRunOf: a firing is one of its schedule runs, to the minute', () => {
  const s = daily('02:00', 'America/Los_Angeles');
  assert.equal(isRunOf(s, new Date('2026-03-08T10:00:30Z')), true);
  assert.equal(isRunOf(s, new Date('2026-03-08T09:00:00Z')), false);
  assert.equal(isRunOf(s, new Date('2026-11-01T10:00:00Z')), true);
});
