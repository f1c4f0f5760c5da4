/**
 * Integration events on the real local parts: the PublishedEvents markers on DynamoDB Local and the twin's
 * in-process bus, wired as the handlers wire them (integrationEventsFromEnv with EVENT_BUS_NAME=local:...): a fact
 * published over and over reaches the bus once, in memory and as a JSON file; a bus that fails leaves no marker, so
 * the retry publishes it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbPublishedEvents } from '../../functions/adapters/dynamodb-published-events.ts';
import { integrationEventsFromEnv, registerLocalEventBus } from '../../functions/adapters/integration-events.ts';
import { detailProblems } from '../../functions/core/integration-event-catalog.ts';
import { eventsOfEndedRun } from '../../functions/core/integration-events.ts';
import { emptyCounts, type Run } from '../../functions/core/transfer/runs.ts';
import { LocalEventBus, readEventFiles } from '../../lib/local/event-bus.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
const dir = mkdtempSync(join(tmpdir(), 'integrator-events-'));

before(async () => {
  parts = await startLocalParts({ s3: false });
});
after(async () => {
  await parts.stop();
  rmSync(dir, { recursive: true, force: true });
});

const run = (runId: string, over: Partial<Run> = {}): Run => ({
  org: 'acme',
  runId,
  jobId: 'profile',
  templateId: 'fn_profile_import',
  trigger: 'arrival',
  status: 'incomplete',
  file: { key: `inbound/acme/${runId}.csv`, name: `${runId}.csv`, size: 1, etag: 'e' },
  startedAt: '2026-11-24T07:00:00.000Z',
  endedAt: '2026-11-24T07:00:05.000Z',
  counts: { ...emptyCounts(), rows: 2, created: 1, failed: 1 },
  warnings: [],
  ...over,
});

test('publishers at the same moment and again and again: a fact reaches the bus once', async () => {
  const bus = new LocalEventBus(join(dir, 'race'));
  const unregister = bus.register('local:test-race');
  try {
    const db = dynamoDbDocumentClient(parts.config);
    const env = { ...parts.env, EVENT_BUS_NAME: 'local:test-race' };
    const facts = eventsOfEndedRun(run('20261124T070000000Z-dddddd'));
    // Three containers (three wirings, one table) at once, as the import and the run watch may be.
    await Promise.all([1, 2, 3].map(() => integrationEventsFromEnv(db, env)!.publish(facts)));
    assert.deepEqual(
      bus.delivered.map((e) => e.detail.eventId),
      facts.map((e) => e.id),
    );
  } finally {
    unregister();
  }
});

test('published again and again, a fact reaches the local bus once, in memory and as files', async () => {
  const bus = new LocalEventBus(join(dir, 'once'));
  const unregister = bus.register('local:test-once');
  try {
    const db = dynamoDbDocumentClient(parts.config);
    const events = integrationEventsFromEnv(db, { ...parts.env, EVENT_BUS_NAME: 'local:test-once' });
    assert.ok(events);
    const facts = eventsOfEndedRun(run('20261124T070000000Z-aaaaaa'));
    for (let i = 0; i < 3; i++) await events.publish(facts);
    // Another container (a new wiring, the same table) finds the markers too.
    await integrationEventsFromEnv(db, { ...parts.env, EVENT_BUS_NAME: 'local:test-once' })!.publish(facts);
    assert.deepEqual(
      bus.delivered.map((e) => [e['detail-type'], e.detail.eventId]),
      [
        ['Run Finished.v1', 'run-finished:acme:20261124T070000000Z-aaaaaa'],
        ['Run Needs Attention.v1', 'run-needs-attention:acme:20261124T070000000Z-aaaaaa'],
      ],
    );
    const files = readEventFiles(join(dir, 'once'));
    assert.deepEqual(files, bus.delivered);
    for (const f of files) {
      assert.equal(f.source, 'integrator');
      assert.deepEqual(detailProblems(f['detail-type'] as never, f.detail), []);
    }
    const outbox = dynamoDbPublishedEvents(db, parts.env);
    for (const e of facts) assert.equal((await outbox.get('acme', e.id))?.status, 'sent');
    // Entries are per organization: the same run id elsewhere is another fact.
    assert.equal(await outbox.get('demo', facts[0]!.id), undefined);
  } finally {
    unregister();
  }
});

test('a bus that fails leaves the claim unpublished; the retry (after the 10 s lease) publishes the fact', async () => {
  const inner = new LocalEventBus(join(dir, 'retry'));
  let fail = true;
  const off = registerLocalEventBus('local:test-retry', {
    put: async (events) => {
      if (fail) throw new Error('bus down');
      await inner.put(events);
    },
  });
  try {
    const db = dynamoDbDocumentClient(parts.config);
    const events = integrationEventsFromEnv(db, { ...parts.env, EVENT_BUS_NAME: 'local:test-retry' })!;
    const facts = eventsOfEndedRun(run('20261124T070000000Z-bbbbbb', { status: 'completed', counts: emptyCounts() }));
    await assert.rejects(events.publish(facts), /bus down/);
    fail = false;
    await events.publish(facts);
    await events.publish(facts);
    assert.deepEqual(
      inner.delivered.map((e) => e.detail.eventId),
      ['run-finished:acme:20261124T070000000Z-bbbbbb'],
    );
  } finally {
    off();
  }
});

test('without EVENT_BUS_NAME nothing is wired (a unit test), and an unregistered local bus is an error', async () => {
  const db = dynamoDbDocumentClient(parts.config);
  assert.equal(integrationEventsFromEnv(db, parts.env), undefined);
  const events = integrationEventsFromEnv(db, { ...parts.env, EVENT_BUS_NAME: 'local:nobody' })!;
  await assert.rejects(events.publish(eventsOfEndedRun(run('20261124T070000000Z-cccccc'))), /no local event bus/);
});
