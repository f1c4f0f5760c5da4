/**
 * The EventBridge bus adapter: entries as EventBridge takes them (the stack's bus, source, versioned detail type,
 * the detail as JSON), at most 10 per PutEvents, and entries PutEvents reports failed (FailedEntryCount, ErrorCode in
 * request order) sent again alone until accepted, or a rejection naming the error codes. The client stands in for
 * the EventBridge API (no local server of it exists), answering as PutEvents answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PutEventsCommand, PutEventsCommandOutput, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { eventBridgeBus } from '../../functions/adapters/eventbridge-bus.ts';
import { calendarReauthenticationRequired, type IntegrationEvent } from '../../functions/core/integration-events.ts';

const events = (n: number): IntegrationEvent[] =>
  Array.from({ length: n }, (_, i) =>
    calendarReauthenticationRequired({
      org: 'demo',
      connectionId: `conn-${i}`,
      provider: 'google',
      userId: 'u-1',
      since: '2026-12-01T08:15:00.000Z',
    }),
  );

/** Answers each call with `answer(entries, call)`: per entry an error code or accepted. */
function client(answer: (entries: PutEventsRequestEntry[], call: number) => (string | undefined)[]) {
  const calls: PutEventsRequestEntry[][] = [];
  return {
    calls,
    send: async (command: PutEventsCommand) => {
      const entries = command.input.Entries ?? [];
      calls.push(entries);
      const codes = answer(entries, calls.length);
      return {
        $metadata: {},
        FailedEntryCount: codes.filter(Boolean).length,
        Entries: codes.map((code, i) =>
          code ? { ErrorCode: code, ErrorMessage: 'failed' } : { EventId: `eb-${calls.length}-${i}` },
        ),
      } satisfies PutEventsCommandOutput;
    },
  };
}

const noWait = { sleep: async () => {} };

test('each event becomes one entry on the stack bus: source integrator, its detail type, its detail', async () => {
  const c = client((entries) => entries.map(() => undefined));
  const [e] = events(1);
  await eventBridgeBus('integrator-events', { client: c as never, ...noWait }).put([e!]);
  assert.equal(c.calls.length, 1);
  const entry = c.calls[0]![0]!;
  assert.equal(entry.EventBusName, 'integrator-events');
  assert.equal(entry.Source, 'integrator');
  assert.equal(entry.DetailType, 'Calendar Reauthentication Required.v1');
  assert.deepEqual(JSON.parse(entry.Detail!), e!.detail);
  assert.equal(entry.Time?.toISOString(), e!.time);
});

test('at most 10 entries a request', async () => {
  const c = client((entries) => entries.map(() => undefined));
  await eventBridgeBus('bus', { client: c as never, ...noWait }).put(events(23));
  assert.deepEqual(
    c.calls.map((entries) => entries.length),
    [10, 10, 3],
  );
});

test('the entries PutEvents failed are sent again, alone, until accepted', async () => {
  // First answer: entries 1 and 3 throttled; then the retry of those two: the second fails once more.
  const c = client((entries, call) =>
    call === 1
      ? entries.map((_, i) => (i === 1 || i === 3 ? 'ThrottlingException' : undefined))
      : call === 2
        ? [undefined, 'InternalFailure']
        : entries.map(() => undefined),
  );
  const sent = events(4);
  const waits: number[] = [];
  await eventBridgeBus('bus', { client: c as never, sleep: async (ms) => void waits.push(ms) }).put(sent);
  const ids = (entries: PutEventsRequestEntry[]) => entries.map((e) => JSON.parse(e.Detail!).eventId);
  assert.deepEqual(ids(c.calls[1]!), [sent[1]!.id, sent[3]!.id]);
  assert.deepEqual(ids(c.calls[2]!), [sent[3]!.id]);
  assert.equal(c.calls.length, 3);
  assert.deepEqual(waits, [100, 200]);
});

test('entries still failing after the attempts: rejected with their error codes', async () => {
  const c = client((entries) => entries.map(() => 'AccessDeniedException'));
  await assert.rejects(
    eventBridgeBus('bus', { client: c as never, maxAttempts: 3, ...noWait }).put(events(2)),
    /2 of the entries still failed after 3 attempts \(AccessDeniedException\)/,
  );
  assert.equal(c.calls.length, 3);
});
