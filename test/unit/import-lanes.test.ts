/**
 * Arrival lanes (lanes.ts) and what receiveFile does with them, on the in-memory ports: files of one organization and
 * template in arrival order, a crashed holder that cannot block the lane forever, a resumed run that keeps its job and
 * a late file whose rows a newer file already wrote.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileEntry } from '../../functions/core/ports.ts';
import { awaitTurn, turnReleased } from '../../functions/core/transfer/lanes.ts';
import { type ReceiveDeps, receiveFile } from '../../functions/core/transfer/receive-file.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import {
  arrivalMessage,
  decodeEventKey,
  encodeEventKey,
  parseNotification,
} from '../../functions/core/transfer/s3-events.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { MemoryLedger, memoryReceive } from '../fixtures/memory-ports.ts';

const HEADER = 'Employee ID,First Name,Last Name,Email';
const file = (first: string, ...ids: string[]) =>
  `${HEADER}\r\n${ids.map((id) => `${id},${first},Silva,${id.toLowerCase()}@example.com`).join('\r\n')}\r\n`;
const keyOf = (day: string) => `inbound/acme/fn_profile_import_202612${day}.csv`;
const created = (key: string) => ({ eventName: 'ObjectCreated:Put', key });

function setup() {
  const { files, ledger, runLog, records, clock, jobs, deps } = memoryReceive({ batchSize: 2 });
  let pauses = 0;
  /** The same deps, pausing after the first batch (an invocation short of time). */
  const pausing = (): ReceiveDeps => ({ ...deps, shouldPause: () => ++pauses > 0 });
  return { files, ledger, runLog, records, clock, jobs, deps, pausing };
}

const entry = (over: Partial<FileEntry>): FileEntry => ({
  org: 'acme',
  fileId: 'f',
  key: 'k',
  etag: '"e"',
  size: 1,
  status: 'processing',
  leaseUntil: 0,
  receivedAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
  claims: 1,
  ...over,
});

test('the turn is held by a live or briefly released holder, and let go by a finished or long-quiet one', () => {
  const now = Date.parse('2026-12-01T00:10:00.000Z');
  const grace = 5 * 60_000;
  assert.equal(turnReleased(entry({ leaseUntil: now + 1 }), now, grace), false, 'working (lease valid)');
  assert.equal(
    turnReleased(entry({ leaseUntil: 0, updatedAt: '2026-12-01T00:09:00.000Z' }), now, grace),
    false,
    'paused a minute ago: its continuation retakes it',
  );
  assert.equal(turnReleased(entry({ leaseUntil: now - 1 }), now, grace), true, 'crashed: lease expired, quiet');
  assert.equal(turnReleased(entry({ status: 'done', leaseUntil: now + 1 }), now, grace), true, 'settled');
});

test('files wait for their turn in arrival order; a crashed holder releases it when its lease has expired', async () => {
  const ledger = new MemoryLedger();
  const grace = 1_000;
  const place = async (name: string, leaseUntil: number) => {
    const e = entry({ fileId: name, leaseUntil, updatedAt: new Date(0).toISOString() });
    await ledger.claim(e, 0);
    return ledger.enterLane(e, 'fn_profile_import');
  };
  const a = await place('a', 10_000);
  const b = await place('b', 10_000);
  const c = await place('c', 10_000);
  assert.deepEqual([a.seq, b.seq, c.seq], [1, 2, 3]);
  assert.deepEqual(await awaitTurn(ledger, a, 5_000, grace), { go: true, guardUnchanged: false });
  const waiting = await awaitTurn(ledger, c, 5_000, grace);
  assert.equal(waiting.go, false);
  assert.equal(!waiting.go && waiting.holder.fileId, 'a');
  // a crashed: once its lease is past (and it is quiet), the turn moves past it, then past b, which is quiet too.
  // b goes, and guards its unchanged rows: a was passed over unfinished and may resume.
  assert.deepEqual(await awaitTurn(ledger, b, 10_001, grace), { go: true, guardUnchanged: true });
  assert.deepEqual(await ledger.laneTurn('acme', 'fn_profile_import').then((t) => [t.turn, t.skipped]), [2, [1]]);
  // a comes back late: its turn has passed, it goes (the records' arrival guard keeps b's rows).
  assert.deepEqual(await awaitTurn(ledger, a, 10_002, grace), { go: true, guardUnchanged: false });
  // b is working (lease valid): c keeps waiting.
  await ledger.update({ ...b, leaseUntil: 50_000 });
  assert.equal((await awaitTurn(ledger, c, 20_000, grace)).go, false);
});

test('receiveFile: the next file of a template waits, with no run, until the previous run ends', async () => {
  const { deps, files, runLog, records, pausing } = setup();
  files.put(keyOf('01'), file('Wrong', 'E1', 'E2', 'E3'));
  files.put(keyOf('02'), file('Right', 'E1', 'E2', 'E3'));
  assert.equal((await receiveFile(pausing(), created(keyOf('01')))).outcome, 'paused');
  const waiting = await receiveFile(deps, created(keyOf('02')));
  assert.equal(waiting.outcome, 'waiting');
  assert.deepEqual(waiting.outcome === 'waiting' && [waiting.seq, waiting.turn, waiting.retryAfterSeconds], [2, 1, 30]);
  assert.equal(runLog.runs.size, 1);
  // Another template has its own lane.
  files.put('inbound/acme/fn_passport_import_20261201.csv', 'Employee ID\r\n');
  assert.equal((await receiveFile(deps, created('inbound/acme/fn_passport_import_20261201.csv'))).outcome, 'finished');
  const first = await receiveFile(deps, created(keyOf('01')));
  assert.equal(first.outcome, 'finished');
  // Its end wakes the waiting file at once (the handler sends arrivalMessage(wake)), not after the 30 s look.
  assert.equal(first.outcome === 'finished' && first.wake?.key, keyOf('02'));
  const woken = parseNotification(arrivalMessage(first.outcome === 'finished' ? first.wake! : { key: '' }));
  assert.deepEqual(woken.kind === 'arrivals' && woken.arrivals.map((a) => a.key), [keyOf('02')]);
  const right = await receiveFile(deps, created(keyOf('02')));
  assert.equal(right.outcome, 'finished');
  assert.equal(right.outcome === 'finished' && right.run.counts.updated, 3);
  assert.equal(right.outcome === 'finished' && right.wake, undefined, 'nothing waits behind the last file');
  assert.equal(records.items.get('acme#foreignNational#E3')?.firstName, 'Right');
});

test('receiveFile: a resumed run keeps the job it started with, whatever was edited between invocations', async () => {
  const { deps, files, jobs, pausing } = setup();
  files.put(keyOf('01'), file('Ana', 'E1', 'E2', 'E3', 'E4'));
  assert.equal((await receiveFile(pausing(), created(keyOf('01')))).outcome, 'paused');
  // Edited meanwhile: update only (would skip the rows not created yet) and renamed.
  jobs.jobs = jobs.jobs.map((j) => ({ ...j, preference: 'update_only', name: 'Edited', revision: 2 }));
  const resumed = await receiveFile(deps, created(keyOf('01')));
  assert.equal(resumed.outcome, 'finished');
  const run = (resumed as { run: Run }).run;
  assert.deepEqual([run.counts.created, run.counts.skipped], [4, 0]);
  assert.equal(run.jobName, templates.byId('fn_profile_import')!.title);
  // The next file uses the edited job.
  files.put(keyOf('02'), file('Bea', 'E1', 'E9'));
  const next = (await receiveFile(deps, created(keyOf('02')))) as { run: Run };
  assert.deepEqual([next.run.counts.updated, next.run.counts.skipped, next.run.jobName], [1, 1, 'Edited']);
});

test('receiveFile: a file resuming after a newer one took its turn never overwrites the newer rows; counted as superseded', async () => {
  const { deps, files, records, clock, pausing } = setup();
  files.put(keyOf('01'), file('Wrong', 'E1', 'E2', 'E3', 'E4'));
  files.put(keyOf('02'), file('Right', 'E1', 'E2', 'E3', 'E4'));
  assert.equal((await receiveFile(pausing(), created(keyOf('01')))).outcome, 'paused');
  // Its continuation is lost for longer than the grace: the lane must not stay blocked.
  clock.at += 10 * 60_000;
  const right = (await receiveFile(deps, created(keyOf('02')))) as { run: Run };
  assert.deepEqual([right.run.counts.updated, right.run.counts.created], [2, 2]);
  // The older file comes back and finishes: its rows 3 and 4 are older than what the newer file wrote.
  const late = (await receiveFile(deps, created(keyOf('01')))) as { run: Run };
  assert.equal(late.run.status, 'completed');
  assert.deepEqual([late.run.counts.created, late.run.counts.superseded, late.run.counts.failed], [2, 2, 0]);
  assert.ok(late.run.warnings.some((w) => w.code === 'superseded'));
  assert.match(late.run.message!, /2 superseded by a newer file/);
  for (const id of ['E1', 'E2', 'E3', 'E4'])
    assert.equal(records.items.get(`acme#foreignNational#${id}`)?.firstName, 'Right');
});

test('receiveFile: a row a newer file found unchanged is not overwritten either when the older file resumes late', async () => {
  const { deps, files, records, clock, ledger, pausing } = setup();
  files.put(keyOf('01'), file('Same', 'R1', 'R2'));
  assert.equal((await receiveFile(deps, created(keyOf('01')))).outcome, 'finished');
  // The older file: two new rows first, then R1 and R2 changed; it stops after the first batch and stays down.
  files.put(keyOf('02'), file('Old', 'R3', 'R4', 'R1', 'R2'));
  assert.equal((await receiveFile(pausing(), created(keyOf('02')))).outcome, 'paused');
  clock.at += 10 * 60_000;
  // The newer file says R1 and R2 are as stored: unchanged (no write), but it passed over an unfinished file.
  files.put(keyOf('03'), file('Same', 'R1', 'R2'));
  const newer = (await receiveFile(deps, created(keyOf('03')))) as { run: Run };
  assert.equal(newer.run.counts.unchanged, 2);
  assert.deepEqual((await ledger.laneTurn('acme', 'fn_profile_import')).skipped, [2]);
  const late = (await receiveFile(deps, created(keyOf('02')))) as { run: Run };
  assert.equal(late.run.counts.superseded, 2);
  for (const id of ['R1', 'R2']) assert.equal(records.items.get(`acme#foreignNational#${id}`)?.firstName, 'Same', id);
  assert.equal((await ledger.laneTurn('acme', 'fn_profile_import')).skipped, undefined, 'forgotten once it finished');
});

test('a lane wake-up message reads back as the arrival it names, keys encoded as S3 encodes them', () => {
  const key = "inbound/acme/Payroll Q1 (1) ü+'*!.csv";
  assert.equal(encodeEventKey('inbound/acme/Payroll Q1 (1).csv'), 'inbound/acme/Payroll+Q1+%281%29.csv');
  assert.equal(decodeEventKey(encodeEventKey(key)), key);
  const parsed = parseNotification(arrivalMessage({ key, versionId: 'v7', etag: '"e"' }));
  assert.deepEqual(parsed, {
    kind: 'arrivals',
    arrivals: [{ eventName: 'ObjectCreated:Put', key, versionId: 'v7', etag: '"e"' }],
  });
});
