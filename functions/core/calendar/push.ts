/**
 * What a change of our calendar means for a case manager's external calendar (the push decision), and what a
 * provider's failure means for the push. Pure: the handler (functions/handlers/calendar-push.ts) reads the change
 * from the events table's stream, the connection and the link from DynamoDB, asks these functions, and acts.
 *
 * Rules:
 * - Only a subscribed organization's case managers with an active connection get pushes; an event of a kind the
 *   connection does not sync (step reminders without the opt-in) is skipped, or deleted externally when it was
 *   pushed before (opting out later takes the reminders away with their next change).
 * - A change made before the connection was activated is not pushed (the seed: "added or updated after the
 *   subscription is activated"). An older event changed afterwards is pushed then (created externally).
 * - A moved event (another case manager) is deleted from the first one's calendar and created in the second's: the
 *   decision is taken per case manager, each seeing only their side of the change.
 * - A replayed stream record (the version already pushed) does nothing; a change whose body equals what we last
 *   wrote does nothing either.
 * - While the connection needs re-authentication or is paused (quota), changes are queued on the link, and sent
 *   once, as the event is then, afterwards.
 */
import type { CalendarConnection } from './connections.ts';
import { readiness, syncsKind } from './connections.ts';
import type { CalendarEvent } from './events.ts';
import { bodyFingerprint, toExternalBody } from './mapping.ts';
import type { ExternalEventBody, ProviderFailureCode } from './provider.ts';

/** The push state of one of our events in one connection (the CalendarLinks table). */
export interface CalendarLink {
  org: string;
  connectionId: string;
  eventId: string;
  /** The external event, once created. */
  externalId?: string;
  /** Google etag / Graph changeKey of what we last wrote. */
  version?: string;
  /** Our event's version we last wrote (a replay of an older stream record is recognised by it). */
  pushedVersion?: number;
  /** bodyFingerprint of what we last wrote: an unchanged body is not written again; the inbound half spots echoes. */
  lastWritten?: string;
  lastPushedAt?: string;
  /** A change waits here (connection needing re-authentication, or paused): sent once when it can be. */
  pending?: boolean;
  pendingSince?: string;
  /** Failed attempts of the current change (reset when it succeeds). */
  attempts?: number;
  lastError?: { code: ProviderFailureCode | 'unexpected'; message: string; at: string };
  /** Kept failing, or refused: listed through the API, retried on request or with the event's next change. */
  parked?: { reason: ParkReason; message: string; at: string };
}

export type ParkReason = ProviderFailureCode | 'unexpected' | 'too_many_attempts';

export type SkipReason =
  | 'not_subscribed'
  | 'not_connected'
  | 'connection_not_active'
  | 'kind_not_synced'
  | 'step_reminders_opted_out'
  | 'before_activation'
  | 'already_pushed'
  | 'unchanged'
  | 'never_pushed';

export type PushDecision =
  | { action: 'create'; event: CalendarEvent; body: ExternalEventBody }
  | { action: 'update'; event: CalendarEvent; body: ExternalEventBody; externalId: string }
  | { action: 'delete'; externalId: string }
  | { action: 'queue'; reason: 'needs_reauth' | 'paused' }
  | { action: 'skip'; reason: SkipReason };

/** One change of one event, as one case manager sees it (their side only). */
export interface EventChange {
  /** The event as it was for this case manager (undefined: new to them). */
  before?: CalendarEvent;
  /** The event as it is for this case manager (undefined: deleted, or moved to another case manager). */
  after?: CalendarEvent;
  /** When the change was made (the new image's updatedAt; for a delete, the stream record's time). */
  changedAt: string;
}

export interface PushContext {
  subscribed: boolean;
  connection?: CalendarConnection;
  /** The link of this event in `connection` (a link of an older connection is not this one's). */
  link?: CalendarLink;
  now: Date;
  /** A flush of queued changes: the link's pending flag is what is being sent, whatever the versions say. */
  flushing?: boolean;
}

/** The change as the case manager `caseManagerId` sees it. */
export function sideOf(
  caseManagerId: string,
  before: CalendarEvent | undefined,
  after: CalendarEvent | undefined,
  changedAt: string,
): EventChange {
  return {
    ...(before?.caseManagerId === caseManagerId ? { before } : {}),
    ...(after?.caseManagerId === caseManagerId ? { after } : {}),
    changedAt,
  };
}

/** The case managers a change concerns: one, or two when the event moved from one to another. */
export function caseManagersOf(before: CalendarEvent | undefined, after: CalendarEvent | undefined): string[] {
  const ids = [before?.caseManagerId, after?.caseManagerId].filter((id): id is string => !!id);
  return [...new Set(ids)];
}

export function decidePush(change: EventChange, ctx: PushContext): PushDecision {
  if (!ctx.subscribed) return { action: 'skip', reason: 'not_subscribed' };
  const connection = ctx.connection;
  if (!connection || connection.status === 'disconnected') return { action: 'skip', reason: 'not_connected' };
  const state = readiness(connection, ctx.now);
  if (state === 'inactive') return { action: 'skip', reason: 'connection_not_active' };
  const link = ctx.link && ctx.link.connectionId === connection.connectionId ? ctx.link : undefined;
  const externalId = link?.externalId;

  if (!ctx.flushing && !externalId && connection.activatedAt && change.changedAt < connection.activatedAt) {
    return { action: 'skip', reason: 'before_activation' };
  }

  const after = change.after;
  const wanted = after && syncsKind(connection, after.kind) ? after : undefined;
  let decision: PushDecision;
  if (wanted) {
    const replay = !ctx.flushing && !link?.pending && (link?.pushedVersion ?? 0) >= wanted.version;
    const body = toExternalBody(wanted);
    if (replay && externalId) decision = { action: 'skip', reason: 'already_pushed' };
    else if (externalId && link?.lastWritten === bodyFingerprint(body) && !link.parked) {
      decision = { action: 'skip', reason: 'unchanged' };
    } else if (externalId) decision = { action: 'update', event: wanted, body, externalId };
    else decision = { action: 'create', event: wanted, body };
  } else if (externalId) {
    decision = { action: 'delete', externalId };
  } else if (after && after.kind === 'step_reminder') {
    decision = { action: 'skip', reason: 'step_reminders_opted_out' };
  } else if (after) {
    decision = { action: 'skip', reason: 'kind_not_synced' };
  } else {
    decision = { action: 'skip', reason: 'never_pushed' };
  }
  if (decision.action !== 'skip' && state === 'queue') {
    return { action: 'queue', reason: connection.status === 'needs_reauth' ? 'needs_reauth' : 'paused' };
  }
  return decision;
}

/** Attempts of one change before it is parked (the stream retries it meanwhile, blocking only its shard). */
export const MAX_PUSH_ATTEMPTS = 5;

export type FailureOutcome =
  /** The grant is gone: mark the connection, notify the case manager once, queue this change. */
  | { kind: 'needs_reauth' }
  /** Google's daily quota: pause this user's pushes until it resets, queue this change. */
  | { kind: 'pause'; until: Date }
  /** Worth another try: the stream delivers the record again (the handler reports it as failed). */
  | { kind: 'retry' }
  /** Parked: listed through the API, never dropped; the stream moves on. */
  | { kind: 'park'; reason: ParkReason };

/**
 * What a provider failure (after the adapter's own retries) means for this change. `attempts` counts this one.
 * A 403 for an event the user does not organize is parked, never answered by deleting and recreating it; a
 * missing external event on update is parked as well (the user deleted it there; the inbound half will decide).
 */
export function failureOutcome(
  code: ProviderFailureCode | 'unexpected',
  attempts: number,
  resetAt: Date,
): FailureOutcome {
  switch (code) {
    case 'reauth_required':
    case 'consent_required':
      return { kind: 'needs_reauth' };
    case 'quota_exceeded':
      return { kind: 'pause', until: resetAt };
    case 'throttled':
    case 'transient':
    case 'unexpected':
      return attempts >= MAX_PUSH_ATTEMPTS ? { kind: 'park', reason: 'too_many_attempts' } : { kind: 'retry' };
    case 'not_organizer':
    case 'rejected':
    case 'not_found':
      return { kind: 'park', reason: code };
  }
}
