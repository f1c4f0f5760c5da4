/**
 * What the Google stand-in holds: users, their calendar lists and the events of each calendar. Event shapes follow
 * the Calendar API's Events resource (https://developers.google.com/calendar/api/v3/reference/events) for the
 * properties Integrator writes. A deleted event stays as `status: 'cancelled'` (as Google keeps it): its id can not
 * be used again (409), a second delete answers 410.
 */
import { randomBytes, randomInt } from 'node:crypto';

export interface GoogleUser {
  /** The subject (`sub`), 21 digits as Google's. */
  sub: string;
  email: string;
  name: string;
}

export type GoogleAccessRole = 'owner' | 'writer' | 'reader' | 'freeBusyReader';

export interface GoogleCalendar {
  id: string;
  summary: string;
  primary: boolean;
  accessRole: GoogleAccessRole;
  timeZone: string;
  etag: string;
}

export interface GoogleEventTime {
  date?: string;
  dateTime?: string;
  timeZone?: string;
}

export interface GoogleEvent {
  id: string;
  etag: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  summary?: string;
  description?: string;
  location?: string;
  start: GoogleEventTime;
  end: GoogleEventTime;
  reminders?: { useDefault: boolean; overrides?: { method: string; minutes: number }[] };
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  organizer: { email: string; self?: boolean };
  created: string;
  updated: string;
  sequence: number;
  /** The `sendUpdates` of the last write (what tests check: mirrored writes send no invitations). */
  lastSendUpdates?: string;
  [key: string]: unknown;
}

export function googleEtag(): string {
  return `"${Date.now()}${randomInt(100, 999)}"`;
}

export class GoogleStore {
  readonly users = new Map<string, GoogleUser>();
  readonly calendars = new Map<string, GoogleCalendar[]>();
  /** `${sub} ${calendarId}` -> events by id. */
  readonly events = new Map<string, Map<string, GoogleEvent>>();

  addUser(input: { email: string; name?: string; sub?: string }): GoogleUser {
    const user: GoogleUser = {
      sub: input.sub ?? `1${Array.from({ length: 20 }, () => randomInt(0, 10)).join('')}`,
      email: input.email,
      name: input.name ?? input.email.split('@')[0]!,
    };
    this.users.set(user.sub, user);
    // The primary calendar's id is the account's address, as on Google.
    this.calendars.set(user.sub, [
      { id: user.email, summary: user.email, primary: true, accessRole: 'owner', timeZone: 'UTC', etag: googleEtag() },
    ]);
    return user;
  }

  userByEmail(email: string): GoogleUser | undefined {
    const wanted = email.toLowerCase();
    return [...this.users.values()].find((u) => u.email.toLowerCase() === wanted);
  }

  user(email: string): GoogleUser {
    const user = this.userByEmail(email);
    if (!user) throw new Error(`The Google stand-in has no user ${email}`);
    return user;
  }

  addCalendar(
    email: string,
    input: { summary: string; accessRole?: GoogleAccessRole; timeZone?: string },
  ): GoogleCalendar {
    const calendar: GoogleCalendar = {
      id: `${randomBytes(16).toString('hex')}@group.calendar.google.com`,
      summary: input.summary,
      primary: false,
      accessRole: input.accessRole ?? 'owner',
      timeZone: input.timeZone ?? 'UTC',
      etag: googleEtag(),
    };
    this.calendars.get(this.user(email).sub)!.push(calendar);
    return calendar;
  }

  calendarsOf(email: string): GoogleCalendar[] {
    return this.calendars.get(this.user(email).sub) ?? [];
  }

  eventMap(sub: string, calendarId: string): Map<string, GoogleEvent> {
    const key = `${sub} ${calendarId}`;
    let map = this.events.get(key);
    if (!map) {
      map = new Map();
      this.events.set(key, map);
    }
    return map;
  }

  /** The events of a user's calendar (the primary one by default); cancelled ones only when asked. */
  eventsOf(email: string, calendarId?: string, options: { includeCancelled?: boolean } = {}): GoogleEvent[] {
    const user = this.user(email);
    const all = [...this.eventMap(user.sub, calendarId ?? user.email).values()];
    return options.includeCancelled ? all : all.filter((e) => e.status !== 'cancelled');
  }

  /** Puts an event as another organizer's invitation (what a 403 forbiddenForNonOrganizer test needs). */
  addForeignEvent(
    email: string,
    calendarId: string,
    event: Partial<GoogleEvent> & { id: string },
    organizer: string,
  ): GoogleEvent {
    const user = this.user(email);
    const now = new Date().toISOString();
    const made: GoogleEvent = {
      status: 'confirmed',
      start: { dateTime: now },
      end: { dateTime: now },
      created: now,
      updated: now,
      sequence: 0,
      ...event,
      etag: googleEtag(),
      organizer: { email: organizer },
    };
    this.eventMap(user.sub, calendarId).set(made.id, made);
    return made;
  }
}
