/**
 * One change of our calendar carried out against the external calendars (the push handler's work, with ports only):
 * per case manager the change concerns, the decision (push.ts), then the provider call and the link stored with the
 * external version; a provider failure becomes what failureOutcome says (needs re-authentication with one notice,
 * paused, retried through the stream, or parked). A flush marker sends a connection's queued changes once, as the
 * events are then.
 *
 * Idempotent, because the stream delivers at least once: a replayed change finds its version pushed and does
 * nothing; a create retried after a lost answer carries the same idempotency key, which the adapter turns into
 * Graph's transactionId or Google's client-chosen id, so it never makes a second external event.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../ports.ts';
import { type CalendarConnection, type CaseManager, nextPacificMidnight, readiness } from './connections.ts';
import type { CalendarEvent } from './events.ts';
import { bodyFingerprint } from './mapping.ts';
import {
  type CalendarProvider,
  type CalendarProviderId,
  ProviderFailure,
  type ProviderFailureCode,
} from './provider.ts';
import { type CalendarLink, caseManagersOf, decidePush, failureOutcome, type PushDecision, sideOf } from './push.ts';
import type { CalendarStore, LapsedPauses } from './store.ts';

export interface PushDeps {
  store: CalendarStore;
  providers: Partial<Record<CalendarProviderId, CalendarProvider>>;
  /** Tells the case manager once that their calendar needs re-authentication (notices.ts). */
  notifyReauth(connection: CalendarConnection, manager: CaseManager): Promise<void>;
  clock: Clock;
  log?: (entry: Record<string, unknown>) => void;
  /** What an operator must hear of (the handler's metrics; alarmed in lib/aws/calendar.ts): one count per event. */
  count?: (metric: PushMetric, value: number) => void;
}

/** A change parked for good (needs a person), a connection found needing re-authentication, a user paused. */
export type PushMetric = 'CalendarPushParked' | 'CalendarReauthRequired' | 'CalendarPushPaused';

/** One record of the events table's stream, unmarshalled. */
export type StreamChange =
  | { type: 'event'; org: string; eventId: string; before?: CalendarEvent; after?: CalendarEvent; changedAt: string }
  | { type: 'flush'; org: string; connectionId: string }
  | { type: 'ignore' };

export type PushResult = 'done' | 'retry';

/** Stable per connection and event creation: a retry sends the same key; a deleted and re-added event gets a new one. */
export function idempotencyKey(connectionId: string, event: CalendarEvent): string {
  return createHash('sha256')
    .update(`${connectionId}\n${event.eventId}\n${event.createdAt}`)
    .digest('hex')
    .slice(0, 32);
}

function baseLink(org: string, connectionId: string, eventId: string): CalendarLink {
  return { org, connectionId, eventId };
}

async function act(
  deps: PushDeps,
  decision: PushDecision,
  connection: CalendarConnection,
  manager: CaseManager,
  link: CalendarLink,
): Promise<PushResult> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const log = deps.log ?? (() => {});
  if (decision.action === 'skip') {
    log({ level: 'DEBUG', message: 'calendar push skipped', reason: decision.reason, eventId: link.eventId });
    return 'done';
  }
  if (decision.action === 'queue') {
    if (!link.pending) await deps.store.putLink({ ...link, pending: true, pendingSince: at });
    log({ level: 'INFO', message: 'calendar push queued', reason: decision.reason, eventId: link.eventId });
    return 'done';
  }
  const provider = deps.providers[connection.provider];
  try {
    if (!provider) throw new ProviderFailure('transient', `no ${connection.provider} adapter is configured`);
    const client = provider.client(connection.connectionId);
    const calendarId = connection.calendarId!;
    if (decision.action === 'delete') {
      await client.deleteEvent(calendarId, decision.externalId);
      await deps.store.deleteLink(link.org, link.connectionId, link.eventId);
    } else {
      const ref =
        decision.action === 'create'
          ? await client.createEvent(calendarId, decision.body, idempotencyKey(connection.connectionId, decision.event))
          : await client.updateEvent(calendarId, decision.externalId, decision.body);
      const { parked: _p, lastError: _e, pendingSince: _s, ...rest } = link;
      await deps.store.putLink({
        ...rest,
        externalId: ref.externalId,
        version: ref.version,
        pushedVersion: decision.event.version,
        lastWritten: bodyFingerprint(decision.body),
        lastPushedAt: at,
        pending: false,
        attempts: 0,
      });
    }
    log({
      level: 'INFO',
      message: 'calendar push sent',
      action: decision.action,
      eventId: link.eventId,
      provider: connection.provider,
    });
    return 'done';
  } catch (err) {
    const code: ProviderFailureCode | 'unexpected' = err instanceof ProviderFailure ? err.code : 'unexpected';
    // The message of a provider failure names the status and code; never the request body or a token.
    const message = err instanceof ProviderFailure ? err.message.slice(0, 300) : 'unexpected error';
    const attempts = (link.attempts ?? 0) + 1;
    const outcome = failureOutcome(code, attempts, nextPacificMidnight(now));
    log({
      level: 'WARN',
      message: 'calendar push failed',
      code,
      outcome: outcome.kind,
      attempts,
      eventId: link.eventId,
    });
    const failed: CalendarLink = { ...link, attempts, lastError: { code, message, at } };
    switch (outcome.kind) {
      case 'needs_reauth': {
        await deps.store.putLink({ ...failed, attempts: 0, pending: true, pendingSince: link.pendingSince ?? at });
        const current = (await deps.store.getConnection(connection.org, connection.connectionId)) ?? connection;
        const lapsed: CalendarConnection =
          current.status === 'active' ? { ...current, status: 'needs_reauth', reauthRequiredAt: at } : current;
        if (lapsed !== current) {
          await deps.store.putConnection(lapsed);
          deps.count?.('CalendarReauthRequired', 1);
        }
        await deps.notifyReauth(lapsed, manager);
        return 'done';
      }
      case 'pause': {
        await deps.store.putLink({ ...failed, attempts: 0, pending: true, pendingSince: link.pendingSince ?? at });
        const current = (await deps.store.getConnection(connection.org, connection.connectionId)) ?? connection;
        await deps.store.putConnection({
          ...current,
          pausedUntil: outcome.until.toISOString(),
          pauseReason: 'quota_exceeded',
        });
        deps.count?.('CalendarPushPaused', 1);
        return 'done';
      }
      case 'retry':
        await deps.store.putLink(failed);
        return 'retry';
      case 'park':
        await deps.store.putLink({ ...failed, pending: false, parked: { reason: outcome.reason, message, at } });
        deps.count?.('CalendarPushParked', 1);
        return 'done';
    }
  }
}

async function connectionOf(deps: PushDeps, org: string, caseManagerId: string) {
  const manager = await deps.store.getManager(org, caseManagerId);
  const connection = manager?.connectionId ? await deps.store.getConnection(org, manager.connectionId) : undefined;
  return { manager, connection };
}

/** After a lapsed pause: the pause is lifted and the queue flushed (through the stream, like every push). */
async function liftLapsedPause(
  deps: Pick<PushDeps, 'store' | 'clock'>,
  connection: CalendarConnection,
): Promise<CalendarConnection> {
  const now = deps.clock.now();
  if (!connection.pausedUntil || Date.parse(connection.pausedUntil) > now.getTime()) return connection;
  const { pausedUntil: _u, pauseReason: _r, ...lifted } = connection;
  await deps.store.putConnection(lifted);
  await deps.store.requestFlush(connection.org, connection.connectionId, now);
  return lifted;
}

export interface ResumeDeps {
  store: CalendarStore;
  pauses: LapsedPauses;
  clock: Clock;
}

/**
 * The resume check (a schedule; functions/handlers/calendar-resume.ts): every connection whose pause has lapsed is
 * lifted and its queued changes flushed once, even when no new change of that case manager comes to do it. Safe to
 * run twice or side by side with a push that lifts the same pause: the connection is read again (consistently) and
 * lifted only while still paused, and a flush that comes second finds nothing queued (each queued change is sent
 * once). Returns how many pauses it lifted.
 */
export async function resumeLapsedPauses(deps: ResumeDeps): Promise<number> {
  let lifted = 0;
  for await (const paused of deps.pauses.lapsed(deps.clock.now())) {
    const connection = await deps.store.getConnection(paused.org, paused.connectionId);
    if (!connection?.pausedUntil) continue;
    const after = await liftLapsedPause(deps, connection);
    if (after !== connection) lifted++;
  }
  return lifted;
}

export async function pushChange(change: StreamChange, deps: PushDeps): Promise<PushResult> {
  if (change.type === 'ignore') return 'done';
  if (change.type === 'flush') return flushConnection(change.org, change.connectionId, deps);
  const { org, eventId } = change;
  const subscribed = !!(await deps.store.getSubscription(org));
  let result: PushResult = 'done';
  for (const caseManagerId of caseManagersOf(change.before, change.after)) {
    const { manager, connection: found } = await connectionOf(deps, org, caseManagerId);
    const connection = found ? await liftLapsedPause(deps, found) : undefined;
    const link = connection ? await deps.store.getLink(org, connection.connectionId, eventId) : undefined;
    const decision = decidePush(sideOf(caseManagerId, change.before, change.after, change.changedAt), {
      subscribed,
      ...(connection ? { connection } : {}),
      ...(link ? { link } : {}),
      now: deps.clock.now(),
    });
    if (!connection || !manager) continue;
    const outcome = await act(
      deps,
      decision,
      connection,
      manager,
      link ?? baseLink(org, connection.connectionId, eventId),
    );
    if (outcome === 'retry') result = 'retry';
  }
  return result;
}

/** Sends a connection's queued changes once each, as the events are now; nothing while it still cannot push. */
export async function flushConnection(org: string, connectionId: string, deps: PushDeps): Promise<PushResult> {
  const connection = await deps.store.getConnection(org, connectionId);
  if (!connection) return 'done';
  const now = deps.clock.now();
  if (readiness(connection, now) !== 'ready') return 'done';
  const manager = await deps.store.getManager(org, connection.caseManagerId);
  if (!manager) return 'done';
  const subscribed = !!(await deps.store.getSubscription(org));
  let result: PushResult = 'done';
  for (const link of await deps.store.pendingLinks(org, connectionId)) {
    const event = await deps.store.getEvent(org, link.eventId);
    const theirs = event && event.caseManagerId === connection.caseManagerId ? event : undefined;
    const decision = decidePush(
      { ...(theirs ? { after: theirs } : {}), changedAt: now.toISOString() },
      { subscribed, connection, link, now, flushing: true },
    );
    if (decision.action === 'skip') {
      // Nothing to send after all (deleted before it was ever pushed): the queued entry goes.
      if (!link.externalId) await deps.store.deleteLink(org, connectionId, link.eventId);
      else await deps.store.putLink({ ...link, pending: false });
      continue;
    }
    const outcome = await act(deps, decision, connection, manager, link);
    if (outcome === 'retry') result = 'retry';
    // The connection needed re-authentication or was paused again: the rest waits for the next flush.
    const after = await deps.store.getConnection(org, connectionId);
    if (!after || readiness(after, deps.clock.now()) !== 'ready') break;
  }
  return result;
}
