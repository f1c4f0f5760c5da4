/**
 * The demo organization's calendar on the twin's first start: subscribed to calendar sync, two case managers (the
 * demo case manager user, `manager@<org>.example.com`, who can sign in and connect; and a second one), and four
 * weeks of events of every kind from the seed date on, the same on every machine (no randomness, no clock: the dates
 * follow from `from`; only the write times are the seeding's). Skipped when the organization already has a subscription.
 */
import { type CalendarEventInput, nextEvent } from '../../functions/core/calendar/events.ts';
import type { CalendarStore } from '../../functions/core/calendar/store.ts';

const ZONES = ['America/New_York', 'America/Chicago', 'America/Los_Angeles'] as const;

function day(from: string, offset: number): string {
  const d = new Date(`${from}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
}

/** The demo events of one case manager: per week an appointment, a court date (all-day), an interview, a step reminder. */
export function demoEvents(
  caseManagerId: string,
  from: string,
  weeks = 4,
): { eventId: string; input: CalendarEventInput }[] {
  const out: { eventId: string; input: CalendarEventInput }[] = [];
  for (let w = 0; w < weeks; w++) {
    const caseRef = `IMM-2026-${String(40 + w).padStart(4, '0')}`;
    const zone = ZONES[w % ZONES.length]!;
    const base = w * 7;
    const prefix = `${caseManagerId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 30)}-w${w}`;
    out.push(
      {
        eventId: `${prefix}-appointment`,
        input: {
          caseManagerId,
          kind: 'appointment',
          title: `Document review with client ${w + 1}`,
          caseRef,
          location: 'Office, room 2',
          notes: 'Bring the passport copies and the I-94.',
          when: {
            kind: 'timed',
            start: `${day(from, base + 1)}T10:00:00`,
            end: `${day(from, base + 1)}T11:00:00`,
            timeZone: zone,
          },
        },
      },
      {
        eventId: `${prefix}-court`,
        input: {
          caseManagerId,
          kind: 'court_date',
          title: `Client ${w + 1}`,
          caseRef,
          court: 'Immigration Court, 26 Federal Plaza, New York',
          hearingType: w % 2 === 0 ? 'Master calendar hearing' : 'Individual hearing',
          when: { kind: 'allDay', startDate: day(from, base + 2), endDate: day(from, base + 3) },
        },
      },
      {
        eventId: `${prefix}-interview`,
        input: {
          caseManagerId,
          kind: 'interview_date',
          title: 'Adjustment of status interview',
          applicant: `Applicant ${w + 1}`,
          caseRef,
          location: 'USCIS Field Office',
          when: {
            kind: 'timed',
            start: `${day(from, base + 3)}T08:30:00`,
            end: `${day(from, base + 3)}T09:30:00`,
            timeZone: zone,
          },
        },
      },
      {
        eventId: `${prefix}-step`,
        input: {
          caseManagerId,
          kind: 'step_reminder',
          title: 'File the I-765 renewal',
          caseRef,
          when: { kind: 'allDay', startDate: day(from, base + 4), endDate: day(from, base + 5) },
        },
      },
    );
  }
  return out;
}

export async function seedDemoCalendar(
  store: CalendarStore,
  org: string,
  managers: { userId: string; email: string; name: string }[],
  from: string,
  now: Date,
): Promise<boolean> {
  if (await store.getSubscription(org)) return false;
  // The events' dates follow from `from`; their write times are the seeding's own, as the case-management system's
  // writes would be: a seed dated after a later connection's activation would otherwise be pushed as new changes.
  const at = now.toISOString();
  for (const m of managers) {
    await store.putManager({ org, userId: m.userId, email: m.email, name: m.name, addedAt: at, addedBy: 'seed' });
    for (const { eventId, input } of demoEvents(m.userId, from)) {
      const previous = await store.getEvent(org, eventId);
      if (!previous) await store.putEvent(nextEvent(org, eventId, input, undefined, new Date(at)), 0);
    }
  }
  // Last, so that a start cut off midway seeds again.
  await store.putSubscription({ org, status: 'active', subscribedAt: at, subscribedBy: 'seed' });
  return true;
}
