/**
 * The calendar's storage port (the adapter: functions/adapters/dynamodb-calendar.ts, over the CalendarEvents,
 * CalendarConnections and CalendarLinks tables of schemas/tables.ts). Every method takes the organization: no call
 * can reach another organization's items, and a missing item and another organization's are the same `undefined`.
 */
import type { Page } from '../pages.ts';
import type { AuthorizationState, CalendarConnection, CalendarSubscription, CaseManager } from './connections.ts';
import type { CalendarEvent } from './events.ts';
import type { CalendarLink } from './push.ts';

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface CalendarStore {
  getSubscription(org: string): Promise<CalendarSubscription | undefined>;
  putSubscription(subscription: CalendarSubscription): Promise<void>;

  getManager(org: string, userId: string): Promise<CaseManager | undefined>;
  putManager(manager: CaseManager): Promise<void>;
  deleteManager(org: string, userId: string): Promise<void>;
  listManagers(org: string, page: PageRequest): Promise<Page<CaseManager>>;

  getEvent(org: string, eventId: string): Promise<CalendarEvent | undefined>;
  /** Writes the event if the stored one is still at `expectedVersion` (0: none stored); false when it moved on. */
  putEvent(event: CalendarEvent, expectedVersion: number): Promise<boolean>;
  /** Deletes the event; the deleted one, or undefined when there was none. */
  deleteEvent(org: string, eventId: string): Promise<CalendarEvent | undefined>;
  /**
   * One case manager's events by start (from the wall-clock start key `startsFrom`, when given), or all the
   * organization's by id.
   */
  listEvents(
    org: string,
    page: PageRequest & { caseManagerId?: string; startsFrom?: string },
  ): Promise<Page<CalendarEvent>>;
  /**
   * Asks the push to send a connection's queued changes (after re-authentication, after a pause, a parked retry):
   * a short-lived marker item in the events table, so the request travels the same stream as the changes.
   */
  requestFlush(org: string, connectionId: string, at: Date): Promise<void>;

  getConnection(org: string, connectionId: string): Promise<CalendarConnection | undefined>;
  putConnection(connection: CalendarConnection): Promise<void>;
  listConnections(org: string, page: PageRequest): Promise<Page<CalendarConnection>>;

  putState(state: AuthorizationState): Promise<void>;
  /** Reads and deletes the state in one step: a state is used once. Undefined when unknown, used or expired. */
  takeState(org: string, state: string, now: Date): Promise<AuthorizationState | undefined>;

  getLink(org: string, connectionId: string, eventId: string): Promise<CalendarLink | undefined>;
  putLink(link: CalendarLink): Promise<void>;
  deleteLink(org: string, connectionId: string, eventId: string): Promise<void>;
  /** The links of a connection with a change waiting (pending). */
  pendingLinks(org: string, connectionId: string): Promise<CalendarLink[]>;
  listParked(org: string, page: PageRequest): Promise<Page<CalendarLink>>;
}

/** A paused connection, named across organizations (the resume check's view, not a tenant's). */
export interface PausedConnection {
  org: string;
  connectionId: string;
  pausedUntil: string;
}

/**
 * The connections whose pause has lapsed, of every organization (the adapter's sparse index byPause): read by the
 * resume check only, which lifts each pause through the organization's CalendarStore. Eventually consistent: a
 * connection just lifted may still be named once more (lifting is idempotent).
 */
export interface LapsedPauses {
  lapsed(now: Date): AsyncIterable<PausedConnection>;
}
