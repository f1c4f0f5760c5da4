/**
 * The field mapping per kind: how one of our events is written to the external calendar (ExternalEventBody, which
 * each provider adapter says in its own words). The README's Calendar sync section shows the same table.
 *
 *   kind            title                                   when            location              reminder (default)
 *   appointment     <title>                                 timed | all-day <location>            15 min
 *   court_date      Court date: <title> (<hearing type>)    timed | all-day <court>, <location>   1 day (1440 min)
 *   interview_date  Interview: <title> (<applicant>)        timed           <location>            60 min
 *   step_reminder   Step reminder: <title>                  timed | all-day <location>            at the start (0)
 *
 * The description is plain text: the notes, then `Case: <caseRef>` and the kind's details (court, hearing type,
 * applicant), then a line saying where the event comes from. All-day stays all-day (dates, exclusive end), timed
 * keeps its IANA zone. `reminderMinutesBefore` given on the event wins over the kind's default. The case reference
 * is always in the description, never only in the title, because a title is what an external user edits first.
 */
import type { CalendarEvent, CalendarEventKind } from './events.ts';
import type { ExternalEventBody } from './provider.ts';

export const DEFAULT_REMINDER_MINUTES: Record<CalendarEventKind, number> = {
  appointment: 15,
  court_date: 1440,
  interview_date: 60,
  step_reminder: 0,
};

/** Graph's subject and Google's summary both stop being shown whole long before this; Graph refuses above 255. */
const MAX_TITLE = 255;

function titleOf(event: CalendarEvent): string {
  switch (event.kind) {
    case 'appointment':
      return event.title;
    case 'court_date':
      return `Court date: ${event.title}${event.hearingType ? ` (${event.hearingType})` : ''}`;
    case 'interview_date':
      return `Interview: ${event.title}${event.applicant ? ` (${event.applicant})` : ''}`;
    case 'step_reminder':
      return `Step reminder: ${event.title}`;
  }
}

function locationOf(event: CalendarEvent): string | undefined {
  const parts = event.kind === 'court_date' ? [event.court, event.location] : [event.location];
  const text = parts.filter((p): p is string => !!p).join(', ');
  return text === '' ? undefined : text;
}

const ORIGIN: Record<CalendarEventKind, string> = {
  appointment: 'Appointment',
  court_date: 'Court date',
  interview_date: 'Interview date',
  step_reminder: 'Case step reminder',
};

function descriptionOf(event: CalendarEvent): string {
  const details = [
    event.caseRef ? `Case: ${event.caseRef}` : undefined,
    event.kind === 'court_date' && event.court ? `Court: ${event.court}` : undefined,
    event.kind === 'court_date' && event.hearingType ? `Hearing: ${event.hearingType}` : undefined,
    event.kind === 'interview_date' && event.applicant ? `Applicant: ${event.applicant}` : undefined,
  ].filter((line): line is string => !!line);
  const blocks = [event.notes, details.join('\n'), `${ORIGIN[event.kind]} from Integrator.`];
  return blocks.filter((b): b is string => !!b && b !== '').join('\n\n');
}

export function toExternalBody(event: CalendarEvent): ExternalEventBody {
  const location = locationOf(event);
  const title = titleOf(event);
  return {
    title: title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title,
    when: event.when,
    ...(location ? { location } : {}),
    description: descriptionOf(event),
    reminderMinutesBefore: event.reminderMinutesBefore ?? DEFAULT_REMINDER_MINUTES[event.kind],
    integratorEventId: event.eventId,
  };
}

/**
 * A fingerprint of what we write (the body as JSON, keys in a fixed order): stored on the link as what we last
 * wrote, so that an update whose body did not change is skipped and the inbound half can recognise our own echoes.
 */
export function bodyFingerprint(body: ExternalEventBody): string {
  const when =
    body.when.kind === 'timed'
      ? [body.when.kind, body.when.start, body.when.end, body.when.timeZone]
      : [body.when.kind, body.when.startDate, body.when.endDate];
  return JSON.stringify([
    body.title,
    when,
    body.location ?? null,
    body.description,
    body.reminderMinutesBefore ?? null,
  ]);
}
