/**
 * The sweep's rules (functions/core/transfer/sweep.ts) on the in-memory ports, with receiveFile as the import queue's
 * consumer: a settled version the ledger does not know is announced and imported once; young objects, temporary names,
 * keys outside an organization's folder and versions the ledger knows (done, partial, waiting) are not announced; a
 * sweep and an event for the same version import once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LedgerLookup, ObjectInfo, ObjectListing, ObjectRef } from '../../functions/core/ports.ts';
import { type Arrival, receiveFile } from '../../functions/core/transfer/receive-file.ts';
import { arrivalMessage, parseNotification } from '../../functions/core/transfer/s3-events.ts';
import { sweepInbound, sweepVerdict } from '../../functions/core/transfer/sweep.ts';
import { type MemoryFiles, type MemoryLedger, memoryReceive } from '../fixtures/memory-ports.ts';

const HEADER = 'Employee ID,First Name,Last Name,Email';
const body = (id: string) => `${HEADER}\r\n${id},Ana,Silva,${id.toLowerCase()}@example.com\r\n`;
const MINUTE = 60_000;

/** MemoryFiles as a listing, `pageSize` objects a page (key order), so paging is exercised. */
function listing(files: MemoryFiles, pageSize = 2): ObjectListing {
  return {
    async listCurrent(prefix, cursor) {
      const keys = [...files.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = cursor ? Number(cursor) : 0;
      const items: ObjectInfo[] = [];
      for (const key of keys.slice(start, start + pageSize)) items.push((await files.head(key))!);
      return start + pageSize < keys.length ? { items, next: String(start + pageSize) } : { items };
    },
  };
}

function lookup(ledger: MemoryLedger): LedgerLookup & { calls: number } {
  const l = {
    calls: 0,
    async known(org: string, fileIds: readonly string[]) {
      l.calls++;
      return new Set(fileIds.filter((id) => ledger.entries.has(`${org}#${id}`)));
    },
  };
  return l;
}

/** The import queue's consumer: the announced message parsed as the import handler parses it, then receiveFile. */
async function deliver(deps: ReturnType<typeof memoryReceive>['deps'], message: string) {
  const parsed = parseNotification(message);
  assert.equal(parsed.kind, 'arrivals');
  const arrivals: Arrival[] = parsed.kind === 'arrivals' ? parsed.arrivals : [];
  return Promise.all(arrivals.map((a) => receiveFile(deps, a)));
}

function setup() {
  const r = memoryReceive();
  const queue: string[] = [];
  const sweep = {
    inbound: listing(r.files),
    ledger: lookup(r.ledger),
    announce: async (o: ObjectRef) => {
      queue.push(arrivalMessage(o, 'integrator:sweep'));
    },
    // MemoryFiles dates its objects 2026-11-24T07:00:0N; the sweep runs an hour later.
    clock: { now: () => new Date(Date.UTC(2026, 10, 24, 8, 0, 0)) },
    settleMs: 10 * MINUTE,
  };
  return { ...r, queue, sweep };
}

test('verdicts: not ours, settling, known, lost', () => {
  const now = new Date(Date.UTC(2026, 10, 24, 8));
  const info = (key: string, ageMs: number): ObjectInfo => ({
    key,
    etag: '"e"',
    size: 1,
    lastModified: new Date(now.getTime() - ageMs),
  });
  assert.equal(sweepVerdict(info('inbound/acme/a.csv.filepart', MINUTE * 60), false, now, MINUTE), 'not_ours');
  assert.equal(sweepVerdict(info('inbound/a.csv', MINUTE * 60), false, now, MINUTE), 'not_ours');
  assert.equal(sweepVerdict(info('inbound/acme/.hidden.csv', MINUTE * 60), false, now, MINUTE), 'not_ours');
  assert.equal(sweepVerdict(info('inbound/acme/a.csv', MINUTE - 1), false, now, MINUTE), 'settling');
  assert.equal(sweepVerdict(info('inbound/acme/a.csv', MINUTE), true, now, MINUTE), 'known');
  assert.equal(sweepVerdict(info('inbound/acme/a.csv', MINUTE), false, now, MINUTE), 'lost');
});

test('a file whose event was lost is announced, imported once, and not announced again', async () => {
  const { deps, files, runLog, records, queue, sweep } = setup();
  files.put('inbound/acme/fn_profile_import_20261124.csv', body('E1'));
  const first = await sweepInbound(sweep);
  assert.equal(first.announced.length, 1);
  assert.equal(queue.length, 1);
  const [received] = await deliver(deps, queue[0]!);
  assert.equal(received?.outcome === 'finished' && received.run.status, 'completed');
  assert.equal(records.items.size, 1);
  // Archived: gone from inbound, so the next sweep has nothing to say.
  queue.length = 0;
  const second = await sweepInbound(sweep);
  assert.deepEqual([second.listed, second.announced.length, queue.length], [0, 0, 0]);
  assert.equal(runLog.runs.size, 1);
});

test('the sweep and the event for one version (either order, or twice) import once', async () => {
  const { deps, files, runLog, queue, sweep } = setup();
  const key = 'inbound/acme/fn_profile_import_20261124.csv';
  files.put(key, body('E1'));
  // The event is slow: the sweep announces first, then both are delivered, the sweep's twice (overlapping sweeps).
  await sweepInbound(sweep);
  await sweepInbound(sweep);
  assert.equal(queue.length, 2);
  const event = JSON.stringify({
    Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key, eTag: (await files.head(key))!.etag } } }],
  });
  const outcomes = [
    ...(await deliver(deps, queue[0]!)),
    ...(await deliver(deps, event)),
    ...(await deliver(deps, queue[1]!)),
  ];
  assert.deepEqual(
    outcomes.map((o) => o.outcome),
    ['finished', 'ignored', 'ignored'],
  );
  assert.equal(runLog.runs.size, 1);
});

test('young objects, temporary names and versions the ledger knows are left alone', async () => {
  const { deps, files, ledger, queue, sweep } = setup();
  // Known: a partial upload the ledger recorded (it stays in inbound on purpose).
  files.put('inbound/acme/fn_profile_import_20261125.csv', body('E2'), { 'integrator-upload': 'partial' });
  const partial = await receiveFile(deps, {
    eventName: 'ObjectCreated:Put',
    key: 'inbound/acme/fn_profile_import_20261125.csv',
  });
  assert.equal(partial.outcome === 'finished' && partial.run.problem?.code, 'partial_upload');
  assert.equal(ledger.entries.size, 1);
  files.put('inbound/acme/fn_profile_import_20261126.csv.filepart', body('E3'));
  files.put('inbound/loose.csv', body('E4'));
  const report = await sweepInbound({ ...sweep, settleMs: 10 * MINUTE });
  assert.deepEqual(
    { listed: report.listed, notOurs: report.notOurs, known: report.known, announced: report.announced.length },
    { listed: 3, notOurs: 2, known: 1, announced: 0 },
  );
  // The same objects seen a minute after they were written: settling, not announced.
  const young = await sweepInbound({ ...sweep, clock: { now: () => new Date(Date.UTC(2026, 10, 24, 7, 1, 0)) } });
  assert.deepEqual([young.settling, young.announced.length, queue.length], [1, 0, 0]);
});

test('a partial upload whose Failed event was lost: once settled, the sweep brings it and its tag refuses it', async () => {
  const { deps, files, runLog, records, queue, sweep } = setup();
  const key = 'inbound/acme/fn_profile_import_20261124.csv';
  files.put(key, body('E1'), { 'integrator-upload': 'partial' });
  await sweepInbound(sweep);
  const [received] = await deliver(deps, queue[0]!);
  assert.equal(received?.outcome === 'finished' && received.run.status, 'interrupted');
  assert.equal(received?.outcome === 'finished' && received.run.problem?.code, 'partial_upload');
  assert.equal(records.items.size, 0);
  assert.ok(files.objects.has(key), 'a partial upload stays where it is');
  queue.length = 0;
  const again = await sweepInbound(sweep);
  assert.deepEqual([again.known, again.announced.length], [1, 0]);
  assert.equal(runLog.runs.size, 1);
});

test('a stop after some pages leaves the cursor to resume at', async () => {
  const { files, sweep } = setup();
  for (let d = 1; d <= 5; d++) files.put(`inbound/acme/fn_profile_import_2026110${d}.csv`, body(`E${d}`));
  const part = await sweepInbound({ ...sweep, maxPages: 2 });
  assert.equal(part.listed, 4);
  assert.ok(part.resumeAt);
  const rest = await sweepInbound(sweep, part.resumeAt);
  assert.equal(rest.listed, 1);
  assert.equal(part.announced.length + rest.announced.length, 5);
});
