/**
 * Our calendar (issue 14): the events the case-management system writes for a case manager, of four kinds, and the
 * rules an event must keep before it is stored. Pure: the caller passes the time it was written.
 *
 *   appointment      an appointment or activity with a client (timed, or all-day)
 *   court_date       a hearing; often all-day (the docket gives a date, not a time)
 *   interview_date   a USCIS or consular interview (timed, usually with a place)
 *   step_reminder    a case step's reminder (a due date of a case step; synced only when the case manager opts in)
 *
 * Timed events hold wall times with an IANA zone (what the user typed, in the zone of the place), all-day events
 * hold dates with an exclusive end, which is how both providers define all-day ends: a one-day court date on
 * 2026-12-14 is `{ startDate: '2026-12-14', endDate: '2026-12-15' }`.
 */
import type { Problem } from '../problems.ts';
import type { ExternalWhen } from './provider.ts';

export const EVENT_KINDS = ['appointment', 'court_date', 'interview_date', 'step_reminder'] as const;
export type CalendarEventKind = (typeof EVENT_KINDS)[number];

export const KIND_TITLES: Record<CalendarEventKind, string> = {
  appointment: 'Appointment',
  court_date: 'Court date',
  interview_date: 'Interview',
  step_reminder: 'Step reminder',
};

/** What the case-management system sends: the event without our bookkeeping. */
export interface CalendarEventInput {
  caseManagerId: string;
  kind: CalendarEventKind;
  title: string;
  when: ExternalWhen;
  location?: string;
  notes?: string;
  /** The case the event belongs to (its reference as the firm knows it, e.g. `IMM-2026-0042`). */
  caseRef?: string;
  /** Only for court dates: the court and the hearing type go into the title and description. */
  court?: string;
  hearingType?: string;
  /** Only for interviews: who is interviewed and the office. */
  applicant?: string;
  /** Minutes before the start; absent: the kind's default (mapping.ts). */
  reminderMinutesBefore?: number;
}

/** An event as stored (CalendarEvents table): the input plus identity and a version that grows with every change. */
export interface CalendarEvent extends CalendarEventInput {
  org: string;
  eventId: string;
  /** 1 on creation, +1 on every change: the push compares it with the version it last wrote. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export const EVENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const USER_ID = /^[A-Za-z0-9@._+:-]{1,128}$/;
const WALL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_TITLE = 255;
const MAX_TEXT = 4000;
/** The longest event we accept: a month (a multi-day hearing fits; a year-long "event" is a data error). */
const MAX_DAYS = 31;

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

function problem(column: string, code: string, message: string, value?: unknown, rule?: string): Problem {
  return {
    code,
    message: `${column}: ${message}`,
    column,
    ...(value === undefined ? {} : { value: String(value).slice(0, 80) }),
    ...(rule ? { rule } : {}),
  };
}

/** Whether a zone name is one the runtime knows (Intl is part of the language, not I/O). */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone === '' || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function isRealDate(date: string): boolean {
  const d = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === date;
}

/** Seconds added when missing, so stored wall times have one spelling (`YYYY-MM-DDTHH:mm:ss`). */
export function normalWallTime(value: string): string {
  return value.length === 16 ? `${value}:00` : value;
}

function daysBetween(a: string, b: string): number {
  return (Date.parse(`${b.slice(0, 10)}T00:00:00Z`) - Date.parse(`${a.slice(0, 10)}T00:00:00Z`)) / 86_400_000;
}

function validateWhen(raw: unknown, problems: Problem[]): ExternalWhen | undefined {
  if (typeof raw !== 'object' || raw === null) {
    problems.push(
      problem(
        'when',
        'required',
        'required: { kind: "timed", start, end, timeZone } or { kind: "allDay", startDate, endDate }',
      ),
    );
    return undefined;
  }
  const when = raw as Record<string, unknown>;
  if (when.kind === 'timed') {
    const { start, end, timeZone } = when;
    let bad = false;
    for (const [name, value] of [
      ['start', start],
      ['end', end],
    ] as const) {
      if (typeof value !== 'string' || !WALL_TIME.test(value) || !isRealDate(value.slice(0, 10))) {
        problems.push(
          problem(
            `when.${name}`,
            'invalid_time',
            'expected a wall time YYYY-MM-DDTHH:mm[:ss]',
            value,
            'format YYYY-MM-DDTHH:mm:ss',
          ),
        );
        bad = true;
      }
    }
    if (!isTimeZone(timeZone)) {
      problems.push(
        problem(
          'when.timeZone',
          'invalid_time_zone',
          'expected an IANA zone such as America/New_York',
          timeZone,
          'IANA time zone',
        ),
      );
      bad = true;
    }
    if (bad) return undefined;
    const s = normalWallTime(start as string);
    const e = normalWallTime(end as string);
    if (e <= s) {
      problems.push(
        problem('when.end', 'end_before_start', `the end ${e} is not after the start ${s}`, e, 'end after start'),
      );
      return undefined;
    }
    if (daysBetween(s, e) > MAX_DAYS) {
      problems.push(
        problem('when.end', 'too_long', `an event lasts at most ${MAX_DAYS} days`, e, `at most ${MAX_DAYS} days`),
      );
      return undefined;
    }
    return { kind: 'timed', start: s, end: e, timeZone: timeZone as string };
  }
  if (when.kind === 'allDay') {
    const { startDate, endDate } = when;
    let bad = false;
    for (const [name, value] of [
      ['startDate', startDate],
      ['endDate', endDate],
    ] as const) {
      if (typeof value !== 'string' || !DATE.test(value) || !isRealDate(value)) {
        problems.push(
          problem(`when.${name}`, 'invalid_date', 'expected a date YYYY-MM-DD', value, 'format YYYY-MM-DD'),
        );
        bad = true;
      }
    }
    if (bad) return undefined;
    if ((endDate as string) <= (startDate as string)) {
      problems.push(
        problem(
          'when.endDate',
          'end_before_start',
          `the end date is exclusive: it must be after the start date ${startDate as string} (a one-day event ends the next day)`,
          endDate,
          'endDate after startDate',
        ),
      );
      return undefined;
    }
    if (daysBetween(startDate as string, endDate as string) > MAX_DAYS) {
      problems.push(
        problem(
          'when.endDate',
          'too_long',
          `an event lasts at most ${MAX_DAYS} days`,
          endDate,
          `at most ${MAX_DAYS} days`,
        ),
      );
      return undefined;
    }
    return { kind: 'allDay', startDate: startDate as string, endDate: endDate as string };
  }
  problems.push(
    problem('when.kind', 'invalid_value', 'expected "timed" or "allDay"', when.kind, 'one of timed, allDay'),
  );
  return undefined;
}

function optionalText(
  body: Record<string, unknown>,
  name: string,
  max: number,
  problems: Problem[],
): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') {
    problems.push(problem(name, 'invalid_type', 'expected text', value));
    return undefined;
  }
  if (value.length > max) {
    problems.push(
      problem(
        name,
        'too_long',
        `at most ${max} characters (${value.length} given)`,
        undefined,
        `at most ${max} characters`,
      ),
    );
    return undefined;
  }
  return value;
}

/**
 * The rules per kind, beyond the common ones:
 * - a step reminder is tied to a case (caseRef required), as its description must say which case's step it is;
 * - a court date and an interview date belong to a case as well;
 * - an interview is timed (an interview without a time cannot be attended); court dates and appointments may be
 *   all-day.
 */
export function validateEventInput(raw: unknown): Validation<CalendarEventInput> {
  const problems: Problem[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: [{ code: 'invalid_body', message: 'the body must be a JSON object' }] };
  }
  const body = raw as Record<string, unknown>;
  const kind = body.kind;
  if (!(EVENT_KINDS as readonly unknown[]).includes(kind)) {
    problems.push(
      problem(
        'kind',
        'invalid_value',
        `expected one of ${EVENT_KINDS.join(', ')}`,
        kind,
        `one of ${EVENT_KINDS.join(', ')}`,
      ),
    );
  }
  const caseManagerId = body.caseManagerId;
  if (typeof caseManagerId !== 'string' || !USER_ID.test(caseManagerId)) {
    problems.push(
      problem('caseManagerId', 'invalid_value', "required: the case manager's user id", caseManagerId, 'user id'),
    );
  }
  const title = body.title;
  if (typeof title !== 'string' || title.trim() === '') {
    problems.push(problem('title', 'required', 'required'));
  } else if (title.length > MAX_TITLE) {
    problems.push(
      problem(
        'title',
        'too_long',
        `at most ${MAX_TITLE} characters (${title.length} given)`,
        undefined,
        `at most ${MAX_TITLE} characters`,
      ),
    );
  }
  const when = validateWhen(body.when, problems);
  const location = optionalText(body, 'location', MAX_TITLE, problems);
  const notes = optionalText(body, 'notes', MAX_TEXT, problems);
  const caseRef = optionalText(body, 'caseRef', 64, problems);
  const court = optionalText(body, 'court', MAX_TITLE, problems);
  const hearingType = optionalText(body, 'hearingType', 100, problems);
  const applicant = optionalText(body, 'applicant', MAX_TITLE, problems);
  let reminderMinutesBefore: number | undefined;
  if (body.reminderMinutesBefore !== undefined && body.reminderMinutesBefore !== null) {
    const r = body.reminderMinutesBefore;
    // Both providers accept reminders up to four weeks before (Google: 40320 minutes).
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r > 40_320) {
      problems.push(
        problem(
          'reminderMinutesBefore',
          'invalid_value',
          'expected whole minutes from 0 to 40320 (four weeks)',
          r,
          '0..40320',
        ),
      );
    } else {
      reminderMinutesBefore = r;
    }
  }
  if ((kind === 'step_reminder' || kind === 'court_date' || kind === 'interview_date') && !caseRef) {
    problems.push(
      problem('caseRef', 'required', `required for a ${KIND_TITLES[kind].toLowerCase()}: the case it belongs to`),
    );
  }
  if (kind === 'interview_date' && when?.kind === 'allDay') {
    problems.push(
      problem('when.kind', 'invalid_value', 'an interview has a time: expected "timed"', 'allDay', 'timed'),
    );
  }
  if (problems.length > 0 || !when) return { ok: false, problems };
  return {
    ok: true,
    value: {
      caseManagerId: caseManagerId as string,
      kind: kind as CalendarEventKind,
      title: (title as string).trim(),
      when,
      ...(location ? { location } : {}),
      ...(notes ? { notes } : {}),
      ...(caseRef ? { caseRef } : {}),
      ...(court ? { court } : {}),
      ...(hearingType ? { hearingType } : {}),
      ...(applicant ? { applicant } : {}),
      ...(reminderMinutesBefore === undefined ? {} : { reminderMinutesBefore }),
    },
  };
}

/** The stored event after a write: a new one at version 1, a change at the next version (creation time kept). */
export function nextEvent(
  org: string,
  eventId: string,
  input: CalendarEventInput,
  previous: CalendarEvent | undefined,
  now: Date,
): CalendarEvent {
  const at = now.toISOString();
  // One spelling of wall times whoever builds the input (the API's reading does this too): Google refuses `T10:00`.
  const when =
    input.when.kind === 'timed'
      ? { ...input.when, start: normalWallTime(input.when.start), end: normalWallTime(input.when.end) }
      : input.when;
  return {
    ...input,
    when,
    org,
    eventId,
    version: (previous?.version ?? 0) + 1,
    createdAt: previous?.createdAt ?? at,
    updatedAt: at,
  };
}

/** The key events sort by in a case manager's list: the start (wall time or date), zone-free, good enough to page. */
export function startKey(when: ExternalWhen): string {
  return when.kind === 'timed' ? when.start : `${when.startDate}T00:00:00`;
}
