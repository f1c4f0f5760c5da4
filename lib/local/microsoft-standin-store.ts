/**
 * What the Microsoft stand-in holds: tenants (with the applications their administrator consented to), users
 * (mailboxes), their calendars and events. Plain data, exposed to tests through the stand-in's `store`.
 * Event shapes follow Graph's `event` resource (https://learn.microsoft.com/graph/api/resources/event) for the
 * properties Integrator writes; start/end are kept and returned as written (no `Prefer: outlook.timezone`).
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface MsUser {
  /** Object id (oid), a GUID. */
  oid: string;
  tenantId: string;
  email: string;
  name: string;
}

export interface MsCalendar {
  id: string;
  name: string;
  isDefaultCalendar: boolean;
  canEdit: boolean;
  changeKey: string;
}

export interface MsDateTimeZone {
  dateTime: string;
  timeZone: string;
}

export interface MsEvent {
  id: string;
  calendarId: string;
  changeKey: string;
  transactionId?: string;
  subject: string;
  body: { contentType: string; content: string };
  start: MsDateTimeZone;
  end: MsDateTimeZone;
  isAllDay: boolean;
  location?: { displayName: string };
  isReminderOn: boolean;
  reminderMinutesBeforeStart: number;
  isOrganizer: boolean;
  responseRequested: boolean;
  singleValueExtendedProperties?: { id: string; value: string }[];
  createdDateTime: string;
  lastModifiedDateTime: string;
}

export function graphId(): string {
  return `AAMk${randomBytes(30).toString('base64url')}`;
}

export function changeKey(): string {
  return randomBytes(12).toString('base64');
}

export class MicrosoftStore {
  readonly users = new Map<string, MsUser>();
  /** tenantId -> client ids the tenant's administrator consented to. */
  readonly consents = new Map<string, Set<string>>();
  /** Tenants whose users may not consent for themselves (the stand-in's default: none needs admin consent). */
  readonly adminConsentRequired = new Set<string>();
  readonly calendars = new Map<string, MsCalendar[]>();
  readonly eventsByOid = new Map<string, MsEvent[]>();

  addUser(input: { email: string; name?: string; tenantId?: string; oid?: string }): MsUser {
    const user: MsUser = {
      oid: input.oid ?? randomUUID(),
      tenantId: input.tenantId ?? randomUUID(),
      email: input.email,
      name: input.name ?? input.email.split('@')[0]!,
    };
    this.users.set(user.oid, user);
    this.calendars.set(user.oid, [
      { id: graphId(), name: 'Calendar', isDefaultCalendar: true, canEdit: true, changeKey: changeKey() },
    ]);
    this.eventsByOid.set(user.oid, []);
    return user;
  }

  userByEmail(email: string): MsUser | undefined {
    const wanted = email.toLowerCase();
    return [...this.users.values()].find((u) => u.email.toLowerCase() === wanted);
  }

  /** The user's mailbox: throws for an unknown e-mail (a test's mistake, not a provider answer). */
  user(email: string): MsUser {
    const user = this.userByEmail(email);
    if (!user) throw new Error(`The Microsoft stand-in has no user ${email}`);
    return user;
  }

  addCalendar(email: string, input: { name: string; canEdit?: boolean }): MsCalendar {
    const calendar: MsCalendar = {
      id: graphId(),
      name: input.name,
      isDefaultCalendar: false,
      canEdit: input.canEdit ?? true,
      changeKey: changeKey(),
    };
    this.calendars.get(this.user(email).oid)!.push(calendar);
    return calendar;
  }

  calendarsOf(email: string): MsCalendar[] {
    return this.calendars.get(this.user(email).oid) ?? [];
  }

  /** The events in a user's mailbox (all calendars, or one), as stored. */
  events(email: string, calendarId?: string): MsEvent[] {
    const all = this.eventsByOid.get(this.user(email).oid) ?? [];
    return calendarId ? all.filter((e) => e.calendarId === calendarId) : all;
  }

  /** Requires admin consent in the user's tenant (what makes AADSTS65001 appear until the admin consents). */
  requireAdminConsent(tenantId: string): void {
    this.adminConsentRequired.add(tenantId);
  }

  consent(tenantId: string, clientId: string): void {
    const set = this.consents.get(tenantId) ?? new Set<string>();
    set.add(clientId);
    this.consents.set(tenantId, set);
  }

  hasConsent(tenantId: string, clientId: string): boolean {
    return !this.adminConsentRequired.has(tenantId) || (this.consents.get(tenantId)?.has(clientId) ?? false);
  }
}
