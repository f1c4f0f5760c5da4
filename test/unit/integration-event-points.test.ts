/**
 * Where runs end, the import tells it (receive-file.ts settle): a finished file states its run's events once, a
 * refused upload also Upload Refused, and a crash after the events went out but before the ledger was done makes the
 * retry settle again without a second publication. The run watch publishes a run it ends and every failed run, once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IntegrationEvent } from '../../functions/core/integration-events.ts';
import type { RunWatchStore } from '../../functions/core/ports.ts';
import { receiveFile } from '../../functions/core/transfer/receive-file.ts';
import { emptyCounts, type Run } from '../../functions/core/transfer/runs.ts';
import { runWatchCycle, type WatchDeps } from '../../functions/core/transfer/watch-cycle.ts';
import { memoryIntegrationEvents } from '../fixtures/memory-integration-events.ts';
import { MemoryOutbox } from '../fixtures/memory-outbox.ts';
import { memoryReceive } from '../fixtures/memory-ports.ts';

const HEADER = 'Employee ID,First Name,Last Name,Email';
const KEY = 'inbound/acme/fn_profile_import_20261124.csv';
const created = (key = KEY) => ({ eventName: 'ObjectCreated:Put', key });

const memoryEvents = () => memoryIntegrationEvents();

const kinds = (list: IntegrationEvent[]) => list.map((e) => e.detailType);

test('a file imported completely states Run Finished once; its redelivery states nothing', async () => {
  const bus = memoryEvents();
  const { deps, files } = memoryReceive({ events: bus.events });
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  const received = await receiveFile(deps, created());
  assert.equal(received.outcome, 'finished');
  await receiveFile(deps, created());
  assert.deepEqual(kinds(bus.onBus), ['Run Finished.v1']);
  const run = received.outcome === 'finished' ? received.run : undefined;
  assert.equal(bus.onBus[0]!.id, `run-finished:acme:${run!.runId}`);
  assert.equal(bus.onBus[0]!.detail.status, 'completed');
  assert.equal(bus.onBus[0]!.detail.jobId, 'job-1');
});

test('a row that fails: the run finished Incomplete and needs attention; no cell value is told', async () => {
  const bus = memoryEvents();
  const { deps, files } = memoryReceive({ events: bus.events });
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,not-an-email\r\n`);
  await receiveFile(deps, created());
  assert.deepEqual(kinds(bus.onBus), ['Run Finished.v1', 'Run Needs Attention.v1']);
  assert.equal(bus.onBus[1]!.detail.failedRows, 1);
  assert.ok(!JSON.stringify(bus.onBus).includes('not-an-email'));
  assert.ok(!JSON.stringify(bus.onBus).includes('Silva'));
});

test('a file that is not CSV is a refused upload, with its name and reason code', async () => {
  const bus = memoryEvents();
  const { deps, files } = memoryReceive({ events: bus.events });
  files.put('inbound/acme/people.xlsx', 'PK');
  await receiveFile(deps, created('inbound/acme/people.xlsx'));
  assert.deepEqual(kinds(bus.onBus), ['Run Finished.v1', 'Run Needs Attention.v1', 'Upload Refused.v1']);
  assert.deepEqual([bus.onBus[2]!.detail.fileName, bus.onBus[2]!.detail.reasonCode], ['people.xlsx', 'not_csv']);
});

test('a crash after publishing, before the archive step: the retry settles again and publishes nothing twice', async () => {
  const bus = memoryEvents();
  const { deps, files, ledger } = memoryReceive({ events: bus.events });
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  const copy = files.copy.bind(files);
  let crashes = 1;
  files.copy = async (...args: Parameters<typeof files.copy>) => {
    if (crashes-- > 0) throw new Error('network');
    return copy(...args);
  };
  await assert.rejects(receiveFile(deps, created()), /network/);
  assert.deepEqual(kinds(bus.onBus), ['Run Finished.v1']);
  const retried = await receiveFile(deps, created());
  assert.equal(retried.outcome, 'finished');
  assert.equal([...ledger.entries.values()][0]?.status, 'done');
  assert.deepEqual(kinds(bus.onBus), ['Run Finished.v1']);
});

test('a bus that is down fails the settle before the ledger is done: the retry publishes', async () => {
  const bus = memoryEvents();
  const { deps, files, ledger } = memoryReceive({ events: bus.events });
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  bus.failNext(1);
  await assert.rejects(receiveFile(deps, created()), /bus down/);
  assert.equal([...ledger.entries.values()][0]?.status, 'processing', 'not done: a retry comes');
  // The retry of the same event: the claim's lease was let go, the run is found finished, settle repeats.
  const retried = await receiveFile(deps, created());
  assert.equal(retried.outcome, 'finished');
  assert.deepEqual(kinds(bus.onBus), ['Run Finished.v1']);
  assert.equal([...ledger.entries.values()][0]?.status, 'done');
});

test('the run watch: a stalled run it ends and every failed run publish their events once, pass after pass', async () => {
  const bus = memoryEvents();
  const T0 = Date.parse('2026-11-24T07:00:00.000Z');
  let now = T0 + 30 * 60_000;
  const base = {
    org: 'acme',
    jobId: 'job-1',
    templateId: 'fn_profile_import',
    file: { key: 'inbound/acme/f.csv', name: 'f.csv', size: 1, etag: 'e' },
    startedAt: new Date(T0).toISOString(),
    counts: emptyCounts(),
    warnings: [],
    invocations: 1,
  };
  const stored = new Map<string, Run>([
    ['20261124T070000000Z-aaaaaa', { ...base, runId: '20261124T070000000Z-aaaaaa', status: 'running' }],
    [
      '20261124T070500000Z-bbbbbb',
      {
        ...base,
        runId: '20261124T070500000Z-bbbbbb',
        status: 'incomplete',
        endedAt: new Date(T0 + 60_000).toISOString(),
      },
    ],
  ]);
  const store: RunWatchStore = {
    async *runningRuns() {
      for (const r of stored.values()) if (r.status === 'running') yield structuredClone(r);
    },
    lifeSigns: async () => [],
    async interrupt(read, ended) {
      if (stored.get(read.runId)?.status !== 'running') return false;
      stored.set(read.runId, ended);
      return true;
    },
    organizations: async () => ['acme'],
    async *failedSince() {
      for (const r of stored.values()) if (r.status !== 'running' && r.status !== 'completed') yield r;
    },
  };
  const deps: WatchDeps = {
    store,
    outbox: new MemoryOutbox(),
    mailer: { send: async () => ({}) },
    contacts: { contactsFor: async () => ({ jobContacts: ['hr@acme.test'], orgContacts: [] }) },
    clock: { now: () => new Date(now) },
    from: 'integrator@example.test',
    messageDomain: 'example.test',
    events: bus.events,
  };
  for (let pass = 0; pass < 3; pass++) {
    await runWatchCycle(deps);
    now += 5 * 60_000;
  }
  assert.equal(stored.get('20261124T070000000Z-aaaaaa')?.status, 'interrupted');
  assert.deepEqual(bus.onBus.map((e) => e.id).sort(), [
    'run-finished:acme:20261124T070000000Z-aaaaaa',
    'run-finished:acme:20261124T070500000Z-bbbbbb',
    'run-needs-attention:acme:20261124T070000000Z-aaaaaa',
    'run-needs-attention:acme:20261124T070500000Z-bbbbbb',
  ]);
});
