/**
 * The optional back-fill the calendar-sync help page offers: by the seed's rule only changes made after a connection
 * is activated are pushed, so a case manager who connects today would not see next week's court date, already in our
 * calendar, in theirs. A back-fill queues the connection's upcoming events (those starting from a day ago, so no
 * time zone cuts off today's, up to `days` ahead) on their links and asks for one flush through the events stream,
 * exactly as queued changes go out after re-authentication: the push sends each once, with its usual idempotency
 * (Graph transactionId, Google's client-chosen id). An event already pushed (its link holds the external event) or
 * already queued is left as it is, so a back-fill asked twice sends nothing twice. Only what the push would send is
 * queued: synced kinds, step reminders only when opted in (decidePush, as for every change).
 */
import type { CalendarConnection } from './connections.ts';
import { startKey } from './events.ts';
import { decidePush } from './push.ts';
import type { CalendarStore } from './store.ts';

export const BACKFILL_DEFAULT_DAYS = 90;
export const BACKFILL_MAX_DAYS = 366;
const PAGE = 200;
/** Wall-clock start keys are in each event's own zone: a day of margin keeps today's events of every zone. */
const MARGIN_MS = 24 * 3600_000;

export interface BackfillResult {
  /** Events queued now (each goes out once, through the flush). */
  queued: number;
  /** Upcoming events left as they were: already pushed or queued, or of a kind this connection does not sync. */
  skipped: number;
  /** The window, as wall-clock start keys (YYYY-MM-DDTHH:MM:SS). */
  from: string;
  until: string;
}

const wall = (at: Date) => at.toISOString().slice(0, 19);

/** Queues the upcoming events of `connection` (active) and requests their flush; what it queued. */
export async function backfillConnection(
  store: CalendarStore,
  connection: CalendarConnection,
  now: Date,
  days: number = BACKFILL_DEFAULT_DAYS,
): Promise<BackfillResult> {
  const { org, connectionId } = connection;
  const from = wall(new Date(now.getTime() - MARGIN_MS));
  const until = wall(new Date(now.getTime() + days * 24 * 3600_000));
  const subscribed = !!(await store.getSubscription(org));
  let queued = 0;
  let skipped = 0;
  let cursor: string | undefined;
  pages: do {
    const page = await store.listEvents(org, {
      caseManagerId: connection.caseManagerId,
      startsFrom: from,
      limit: PAGE,
      ...(cursor ? { cursor } : {}),
    });
    for (const event of page.items) {
      if (startKey(event.when) > until) break pages;
      const link = await store.getLink(org, connectionId, event.eventId);
      if (link?.externalId || link?.pending) {
        skipped++;
        continue;
      }
      const decision = decidePush(
        { after: event, changedAt: now.toISOString() },
        { subscribed, connection, ...(link ? { link } : {}), now, flushing: true },
      );
      if (decision.action === 'skip') {
        skipped++;
        continue;
      }
      await store.putLink({
        ...(link ?? { org, connectionId, eventId: event.eventId }),
        pending: true,
        pendingSince: now.toISOString(),
      });
      queued++;
    }
    cursor = page.next;
  } while (cursor);
  if (queued > 0) await store.requestFlush(org, connectionId, now);
  return { queued, skipped, from, until };
}
