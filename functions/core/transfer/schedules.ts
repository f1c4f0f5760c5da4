/**
 * Job schedules: when a scheduled job runs, in the job's IANA time zone, and the same answer as an EventBridge
 * Scheduler schedule. The arithmetic is croner's (a well-kept library), never ours.
 *
 * A schedule is daily, weekly (days of the week), monthly (a day of the month, or the last day) at a wall-clock time,
 * or a cron expression (five fields: minute hour day-of-month month day-of-week), always in a time zone.
 *
 * Daylight-saving rules (the same for every kind; `nextRuns` is the one answer, the twin fires it, the API shows it):
 * - A wall-clock time that does not exist that day (spring forward: 02:00 in Los Angeles on 8 March 2026) runs once,
 *   when the clock has jumped (03:00 local): croner's rule for fixed-time jobs. A job is fixed-time when its minute
 *   and hour are plain values or lists (croner `fixedTimeRule: 'no-wildcard'`); one whose minute or hour is `*` or a
 *   step runs at intervals, and an interval time in the gap does not exist, so it is skipped.
 * - A wall-clock time that occurs twice (fall back: 01:30 in Los Angeles on 1 November 2026) runs once, at its first
 *   occurrence. croner already does so for fixed-time jobs; `nextRuns` also drops the second occurrence of an
 *   interval job's time, because EventBridge Scheduler runs a repeated time once.
 *
 * EventBridge Scheduler (its user guide, "Daylight savings time on EventBridge Scheduler"): a cron schedule with a
 * ScheduleExpressionTimezone follows DST, but "when the time shifts forward in spring, your schedule invocation gets
 * skipped if the cron expression falls on a non-existent date and time; when the time shifts back in the fall, your
 * schedule runs only once". So the fall-back day agrees as it is; the spring-forward day would lose its run. To
 * agree, `eventBridgeSchedule` gives the cron expression and `shiftedRuns` the runs that expression skips (a fixed
 * time in a gap): the Scheduler adapter adds a one-time `at(...)` schedule for each (a few per year at most).
 */
import { Cron } from 'croner';
import type { Problem } from '../problems.ts';

export const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export type Schedule =
  | { kind: 'daily'; at: string; timeZone: string }
  | { kind: 'weekly'; days: Weekday[]; at: string; timeZone: string }
  | { kind: 'monthly'; day: number | 'last'; at: string; timeZone: string }
  | { kind: 'cron'; expression: string; timeZone: string };

export const SCHEDULE_KINDS: readonly Schedule['kind'][] = ['daily', 'weekly', 'monthly', 'cron'];

/** The seed's rule: files uploaded before 02:00 Pacific time are imported that night. */
export const DEFAULT_SCHEDULE: Schedule = { kind: 'daily', at: '02:00', timeZone: 'America/Los_Angeles' };

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const KEYS: Record<Schedule['kind'], readonly string[]> = {
  daily: ['kind', 'at', 'timeZone'],
  weekly: ['kind', 'days', 'at', 'timeZone'],
  monthly: ['kind', 'day', 'at', 'timeZone'],
  cron: ['kind', 'expression', 'timeZone'],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for a zone the runtime's time-zone database knows (IANA names such as Europe/Berlin; also UTC). */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export type ScheduleRead = { ok: true; schedule: Schedule } | { ok: false; problems: Problem[] };

/**
 * Reads a schedule sent from outside; every problem names its field (`schedule.at`, `schedule.days[2]`, ...), as
 * `field` says the schedule is called where it came from.
 */
export function readSchedule(input: unknown, field = 'schedule'): ScheduleRead {
  const problems: Problem[] = [];
  const bad = (at: string, message: string) =>
    problems.push({ code: 'invalid_schedule', message: `${field}${at}: ${message}` });
  if (!isRecord(input)) {
    bad('', `must be an object: { kind: ${SCHEDULE_KINDS.join(' | ')}, ... , timeZone }`);
    return { ok: false, problems };
  }
  const kind = input.kind as Schedule['kind'];
  if (!SCHEDULE_KINDS.includes(kind)) {
    bad('.kind', `must be one of ${SCHEDULE_KINDS.join(', ')}, not ${JSON.stringify(input.kind)}`);
    return { ok: false, problems };
  }
  for (const key of Object.keys(input)) {
    if (!KEYS[kind].includes(key)) bad(`.${key}`, `is not a property of a ${kind} schedule`);
  }
  if (typeof input.timeZone !== 'string' || !isTimeZone(input.timeZone)) {
    bad('.timeZone', `must be an IANA time zone such as America/Los_Angeles, not ${JSON.stringify(input.timeZone)}`);
  }
  if (kind !== 'cron' && !(typeof input.at === 'string' && TIME.test(input.at))) {
    bad('.at', `must be a time of day HH:MM (00:00 to 23:59), not ${JSON.stringify(input.at)}`);
  }
  if (kind === 'weekly') {
    const days = input.days;
    if (!Array.isArray(days) || days.length === 0) bad('.days', `must list one or more of ${WEEKDAYS.join(', ')}`);
    else {
      days.forEach((d, i) => {
        if (!WEEKDAYS.includes(d as Weekday))
          bad(`.days[${i}]`, `must be one of ${WEEKDAYS.join(', ')}, not ${JSON.stringify(d)}`);
      });
      if (new Set(days).size !== days.length) bad('.days', 'names a day twice');
    }
  }
  if (kind === 'monthly') {
    const day = input.day;
    if (!(day === 'last' || (Number.isInteger(day) && (day as number) >= 1 && (day as number) <= 28))) {
      bad(
        '.day',
        `must be a day of the month from 1 to 28, or "last" (a 29th to 31st does not come every month), not ${JSON.stringify(day)}`,
      );
    }
  }
  if (kind === 'cron') {
    if (typeof input.expression !== 'string') bad('.expression', 'must be a cron expression of five fields');
    else for (const message of cronProblems(input.expression)) bad('.expression', message);
  }
  if (problems.length > 0) return { ok: false, problems };
  const s = input as Record<string, unknown>;
  const timeZone = s.timeZone as string;
  switch (kind) {
    case 'daily':
      return { ok: true, schedule: { kind, at: s.at as string, timeZone } };
    case 'weekly': {
      // Stored in week order, so that two equal schedules look equal.
      const days = WEEKDAYS.filter((d) => (s.days as string[]).includes(d));
      return { ok: true, schedule: { kind, days, at: s.at as string, timeZone } };
    }
    case 'monthly':
      return { ok: true, schedule: { kind, day: s.day as number | 'last', at: s.at as string, timeZone } };
    default:
      return { ok: true, schedule: { kind: 'cron', expression: normalizeCron(s.expression as string), timeZone } };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Cron expressions: the subset both croner and EventBridge Scheduler read the same way

const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** A field: `*`, or a list of values, ranges and steps (`5`, `1-5`, `*\/15`, `0-30/10`). */
const LIST = /^(\*(\/\d+)?|\d+(-\d+)?(\/\d+)?)(,\d+(-\d+)?(\/\d+)?)*$/;

function normalizeCron(expression: string): string {
  return expression.trim().split(/\s+/).join(' ');
}

/** Names (JAN, MON) become numbers; Sunday is 0. */
function numericField(value: string, index: number): string {
  const names = index === 3 ? MONTHS : index === 4 ? [...WEEKDAYS] : [];
  const offset = index === 3 ? 1 : 0;
  return value.toUpperCase().replace(/[A-Z]{3}/g, (name) => {
    const i = names.indexOf(name);
    return i < 0 ? name : String(i + offset);
  });
}

const BOUNDS: readonly [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/**
 * Why a cron expression cannot be a schedule, in words. Accepted: five fields, each `*`, or values, ranges and steps
 * (names JAN-DEC, SUN-SAT); day of month may also be `L` (the last day), day of week `5#2` (second Friday) or `5L`
 * (last Friday). Restrict either the day of month or the day of week, not both: classic cron then runs on either,
 * EventBridge Scheduler cannot say that at all.
 */
export function cronProblems(expression: string): string[] {
  const fields = normalizeCron(expression).split(' ');
  if (fields.length !== 5 || fields[0] === '') {
    return [`needs five fields (minute hour day-of-month month day-of-week), not ${fields.length}: "${expression}"`];
  }
  const problems: string[] = [];
  fields.forEach((raw, i) => {
    const value = numericField(raw, i);
    const special = (i === 2 && value === 'L') || (i === 4 && (/^[0-7]#[1-5]$/.test(value) || /^[0-7]L$/.test(value)));
    if (special) return;
    if (!LIST.test(value)) {
      problems.push(`the ${FIELD_NAMES[i]} field "${raw}" is not a value, range, list or step this schedule accepts`);
      return;
    }
    const [lo, hi] = BOUNDS[i]!;
    for (const n of value.split(/[,\-/]/).filter((t) => t !== '*')) {
      const part = Number(n);
      if (value.includes('/') && value.endsWith(`/${n}`) && part >= 1) continue;
      if (part < lo || part > hi) problems.push(`the ${FIELD_NAMES[i]} field "${raw}": ${n} is outside ${lo}-${hi}`);
    }
  });
  if (problems.length > 0) return problems;
  if (fields[2] !== '*' && fields[4] !== '*') {
    problems.push('restrict either the day of month or the day of week (the other one *), not both');
  }
  if (problems.length === 0) {
    try {
      new Cron(cronPattern(fields), { paused: true, mode: '5-part' });
    } catch (err) {
      problems.push(`is not a valid cron expression: ${(err as Error).message}`);
    }
  }
  return problems;
}

function cronPattern(fields: readonly string[]): string {
  return fields.map((f, i) => numericField(f, i)).join(' ');
}

/** The five-field cron pattern of a schedule (minute hour day-of-month month day-of-week, Sunday 0). */
export function cronOf(schedule: Schedule): string {
  if (schedule.kind === 'cron') return cronPattern(normalizeCron(schedule.expression).split(' '));
  const [h, m] = schedule.at.split(':').map(Number) as [number, number];
  switch (schedule.kind) {
    case 'daily':
      return `${m} ${h} * * *`;
    case 'weekly':
      return `${m} ${h} * * ${schedule.days.map((d) => WEEKDAYS.indexOf(d)).join(',')}`;
    case 'monthly':
      return `${m} ${h} ${schedule.day === 'last' ? 'L' : schedule.day} * *`;
  }
}

function cronFor(schedule: Schedule): Cron {
  return new Cron(cronOf(schedule), {
    timezone: schedule.timeZone,
    paused: true,
    mode: '5-part',
    fixedTimeRule: 'no-wildcard',
  });
}

/** `YYYY-MM-DD HH:MM` on the zone's wall clock. */
export function wallClock(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** The second pass of a repeated wall-clock time: the same wall time was already shown 30 min to 2 h earlier. */
function isRepeat(at: Date, timeZone: string): boolean {
  const wall = wallClock(at, timeZone);
  return [30, 60, 120].some((minutes) => wallClock(new Date(at.getTime() - minutes * 60_000), timeZone) === wall);
}

/** The next `n` runs strictly after `after` (see the DST rules at the top). */
export function nextRuns(schedule: Schedule, after: Date, n: number): Date[] {
  return runsOf(cronFor(schedule), schedule.timeZone, after, n);
}

function runsOf(cron: Cron, timeZone: string, after: Date, n: number): Date[] {
  const runs: Date[] = [];
  let from = after;
  // Each skipped repeat costs one step; a schedule has at most a few per day.
  for (let guard = 0; runs.length < n && guard < n * 3 + 10; guard++) {
    const next = cron.nextRun(from);
    if (!next) break;
    if (!isRepeat(next, timeZone)) runs.push(next);
    from = next;
  }
  return runs;
}

/** The latest run at or before `at`, if any within a year and a bit: what a late or repeated firing stands for. */
export function previousRun(schedule: Schedule, at: Date): Date | undefined {
  const cron = cronFor(schedule);
  const [prev] = cron.previousRuns(1, new Date(at.getTime() + 1000));
  if (!prev || prev.getTime() > at.getTime()) return undefined;
  return prev;
}

/** True when `at` is one of the schedule's runs (to the minute): how a firing is checked against its schedule. */
export function isRunOf(schedule: Schedule, at: Date): boolean {
  const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
  const [run] = nextRuns(schedule, new Date(minute.getTime() - 1), 1);
  return run?.getTime() === minute.getTime();
}

// ---------------------------------------------------------------------------------------------------------------
// EventBridge Scheduler

export interface EventBridgeSchedule {
  /** `cron(minutes hours day-of-month month day-of-week year)`: one of the two day fields is `?`, Sunday is 1. */
  expression: string;
  /** ScheduleExpressionTimezone: the job's IANA zone. */
  timezone: string;
}

/** An EventBridge day-of-week field from ours (Sunday 0 or 7 -> 1, Saturday 6 -> 7). */
function eventBridgeWeekdays(field: string): string {
  const day = (n: string) => String((Number(n) % 7) + 1);
  if (field === '*') return '?';
  if (/^[0-7]#[1-5]$/.test(field)) return `${day(field[0]!)}#${field[2]}`;
  if (/^[0-7]L$/.test(field)) return `${day(field[0]!)}L`;
  return field
    .split(',')
    .map((part) => {
      const [range, step] = part.split('/') as [string, string | undefined];
      const [a, b] = range.split('-') as [string, string | undefined];
      // 5-7 (Friday to Sunday) would become 6-1 once shifted; EventBridge wants lists then.
      if (b !== undefined && Number(b) === 7 && step === undefined) {
        const days: string[] = [];
        for (let d = Number(a); d <= 7; d++) days.push(day(String(d)));
        return days.join(',');
      }
      const shifted = b === undefined ? day(a) : `${day(a)}-${day(b)}`;
      return step === undefined ? shifted : `${shifted}/${step}`;
    })
    .join(',');
}

/** `*\/15` -> `0/15` (EventBridge's step form for minutes and hours), `*\/2` day -> `1/2`. */
function eventBridgeField(field: string, first: number): string {
  return field.replace(/^\*\//, `${first}/`);
}

/** The EventBridge Scheduler expression and time zone that fire what `nextRuns` says, except `shiftedRuns`. */
export function eventBridgeSchedule(schedule: Schedule): EventBridgeSchedule {
  const [minute, hour, dom, month, dow] = cronOf(schedule).split(' ') as [string, string, string, string, string];
  const days = dow === '*' ? { dom: eventBridgeField(dom, 1), dow: '?' } : { dom: '?', dow: eventBridgeWeekdays(dow) };
  return {
    expression: `cron(${eventBridgeField(minute, 0)} ${eventBridgeField(hour, 0)} ${days.dom} ${eventBridgeField(month, 1)} ${days.dow} *)`,
    timezone: schedule.timeZone,
  };
}

/**
 * The runs in (`after`, `until`] that the EventBridge cron expression skips: a fixed time that does not exist that
 * day, which croner runs when the clock has jumped. The adapter gives each a one-time schedule. A run is shifted when
 * its wall-clock minute and hour are not what the expression names (croner moved it out of the gap).
 */
export function shiftedRuns(schedule: Schedule, after: Date, until: Date): Date[] {
  const [minute, hour] = cronOf(schedule).split(' ') as [string, string];
  // An interval job (a `*` or a step in minute or hour) skips gap times in croner as in EventBridge: none shifted.
  if (/[*/]/.test(minute) || /[*/]/.test(hour)) return [];
  const cron = cronFor(schedule);
  // Values, lists and ranges only (no `*`, no step: see above).
  const matches = (field: string, value: number) =>
    field.split(',').some((part) => {
      const [a, b] = part.split('-').map(Number) as [number, number?];
      return value >= a && value <= (b ?? a);
    });
  const shifted: Date[] = [];
  let from = after;
  for (;;) {
    const [run] = runsOf(cron, schedule.timeZone, from, 1);
    if (!run || run.getTime() > until.getTime()) return shifted;
    const [h, m] = wallClock(run, schedule.timeZone).slice(11).split(':').map(Number) as [number, number];
    if (!(matches(minute, m) && matches(hour, h))) shifted.push(run);
    from = run;
  }
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC: EventBridge's one-time expression for an instant. */
export function eventBridgeAt(at: Date): EventBridgeSchedule {
  return { expression: `at(${at.toISOString().slice(0, 19)})`, timezone: 'UTC' };
}

/** In words, for people: "daily at 02:00 (America/Los_Angeles)". */
export function describeSchedule(schedule: Schedule): string {
  const zone = `(${schedule.timeZone})`;
  switch (schedule.kind) {
    case 'daily':
      return `daily at ${schedule.at} ${zone}`;
    case 'weekly':
      return `every ${schedule.days.join(', ')} at ${schedule.at} ${zone}`;
    case 'monthly':
      return `monthly on ${schedule.day === 'last' ? 'the last day' : `day ${schedule.day}`} at ${schedule.at} ${zone}`;
    case 'cron':
      return `cron ${schedule.expression} ${zone}`;
  }
}
