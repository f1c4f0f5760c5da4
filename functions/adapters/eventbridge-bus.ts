import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, type IntegrationEvent } from '../core/integration-events.ts';
import type { EventBus } from '../core/ports.ts';

/** PutEvents takes at most 10 entries per request. */
const ENTRIES_PER_REQUEST = 10;
const DEFAULT_ATTEMPTS = 5;
const DEFAULT_BACKOFF_MS = 100;

export interface EventBridgeBusOptions {
  client?: Pick<EventBridgeClient, 'send'>;
  /** Tries per entry, the first included (default 5). */
  maxAttempts?: number;
  /** The first retry's wait, doubled per retry (default 100 ms). */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The entry EventBridge gets for an event: the stack's bus, source `integrator`, the versioned detail type. */
export function putEventsEntry(event: IntegrationEvent, busName: string): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: event.detailType,
    Time: new Date(event.time),
    Detail: JSON.stringify(event.detail),
  };
}

/**
 * The event bus over EventBridge PutEvents. PutEvents answers 200 even when some entries failed (FailedEntryCount,
 * an ErrorCode per entry, in request order): those entries alone are sent again, after a backoff, until every one is
 * accepted or the attempts run out (then it rejects, naming the error codes, and the caller's retry takes over: the
 * events accepted so far carry ids, so a repeat is harmless). Throttling and 5xx of the call itself are the SDK's
 * retries.
 */
export function eventBridgeBus(busName: string, options: EventBridgeBusOptions = {}): EventBus {
  const client = options.client ?? new EventBridgeClient({});
  const attempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async put(events) {
      for (let i = 0; i < events.length; i += ENTRIES_PER_REQUEST) {
        let pending = events.slice(i, i + ENTRIES_PER_REQUEST).map((e) => putEventsEntry(e, busName));
        for (let attempt = 1; pending.length > 0; attempt++) {
          const out = await client.send(new PutEventsCommand({ Entries: pending }));
          if (!out.FailedEntryCount) break;
          const failed = pending.filter(
            (_, n) => out.Entries?.[n]?.ErrorCode !== undefined || !out.Entries?.[n]?.EventId,
          );
          if (attempt >= attempts) {
            const codes = [...new Set((out.Entries ?? []).map((e) => e.ErrorCode).filter(Boolean))].join(', ');
            throw new Error(
              `PutEvents: ${failed.length} of the entries still failed after ${attempts} attempts (${codes})`,
            );
          }
          pending = failed;
          await sleep(backoff * 2 ** (attempt - 1));
        }
      }
    },
  };
}
