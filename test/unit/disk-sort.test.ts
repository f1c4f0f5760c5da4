import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type DiskSortStats, diskSortScratch } from '../../functions/adapters/disk-sort.ts';

const root = mkdtempSync(join(tmpdir(), 'disk-sort-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

function scratchDir(): string {
  return mkdtempSync(join(root, 'case-'));
}

async function readAll(sorted: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  // Each view is valid only until the next one is asked for: copy.
  for await (const r of sorted) out.push(Buffer.from(r));
  return out;
}

function byBytes(records: Buffer[]): Buffer[] {
  return [...records].sort(Buffer.compare);
}

test('records within the memory budget are sorted by their bytes without touching disk', async () => {
  const dir = scratchDir();
  const stats: DiskSortStats = { runsWritten: 0, bytesSpilled: 0 };
  const sort = diskSortScratch({ dir, stats }).start(21);
  const records = Array.from({ length: 5000 }, () => randomBytes(21));
  for (const r of records) await sort.add(r);
  assert.deepEqual(await readAll(sort.sorted()), byBytes(records));
  assert.equal(stats.runsWritten, 0);
  assert.deepEqual(readdirSync(dir), []);
});

test('past the budget, sorted runs go to disk and are merged into one order; the files are removed after', async () => {
  const dir = scratchDir();
  const stats: DiskSortStats = { runsWritten: 0, bytesSpilled: 0 };
  // 40 records of 16 bytes (+ 8 of order) per run; blocks of 3 records: many refills per run.
  const sort = diskSortScratch({ dir, stats, memoryBytes: 40 * 24, blockBytes: 48 }).start(16);
  const records = Array.from({ length: 1003 }, () => randomBytes(16));
  // Equal records and records equal in their first four bytes must come out together too.
  records.push(Buffer.from(records[5]!), Buffer.from(records[5]!));
  const samePrefix = Buffer.from(records[9]!);
  samePrefix[15] = samePrefix[15]! ^ 0xff;
  records.push(samePrefix);
  for (const r of records) await sort.add(r);
  assert.ok(stats.runsWritten >= 25, `${stats.runsWritten} runs written`);
  assert.ok(readdirSync(dir).length > 0, 'runs are on disk before reading');
  assert.deepEqual(await readAll(sort.sorted()), byBytes(records));
  assert.deepEqual(readdirSync(dir), [], 'the sort removed its folder');
});

test('big-endian numbers sort as numbers, records shorter than four bytes too', async () => {
  const sort = diskSortScratch({ dir: scratchDir(), memoryBytes: 10 * 10 }).start(2);
  const values = Array.from({ length: 300 }, (_, i) => (i * 7919) % 65_536);
  for (const v of values) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    await sort.add(b);
  }
  const out = (await readAll(sort.sorted())).map((b) => b.readUInt16BE(0));
  assert.deepEqual(
    out,
    [...values].sort((a, b) => a - b),
  );
});

test('an empty sort yields nothing; a sort is read once; a record of the wrong size is refused', async () => {
  const scratch = diskSortScratch({ dir: scratchDir() });
  const empty = scratch.start(8);
  assert.deepEqual(await readAll(empty.sorted()), []);
  await assert.rejects(readAll(empty.sorted()), /read once/);
  assert.throws(() => scratch.start(8).add(Buffer.alloc(7)), /record of 7 bytes in a sort of 8/);
});

test('discarding, or stopping the reading early, removes the spilled runs', async () => {
  const dir = scratchDir();
  const scratch = diskSortScratch({ dir, memoryBytes: 10 * 12 });
  const discarded = scratch.start(4);
  for (let i = 0; i < 100; i++) await discarded.add(randomBytes(4));
  assert.ok(readdirSync(dir).length > 0);
  await discarded.discard();
  assert.deepEqual(readdirSync(dir), []);

  const stopped = scratch.start(4);
  for (let i = 0; i < 100; i++) await stopped.add(randomBytes(4));
  for await (const _ of stopped.sorted()) break;
  assert.deepEqual(readdirSync(dir), []);
});

test('before its first spill a process removes the runs that dead processes left behind, not those of live ones', async () => {
  const dir = scratchDir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  const leftovers = {
    dead: `integrator-sort-${deadPid}-a1b2c3`,
    earlierSelf: `integrator-sort-${process.pid}-d4e5f6`,
    live: `integrator-sort-${process.ppid}-g7h8i9`,
    other: 'someone-elses-folder',
  };
  for (const name of Object.values(leftovers)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'run-0'), 'x');
  }
  const sort = diskSortScratch({ dir, memoryBytes: 10 * 12 }).start(4);
  for (let i = 0; i < 100; i++) await sort.add(randomBytes(4));
  const names = readdirSync(dir);
  assert.ok(!names.includes(leftovers.dead), 'a dead process’s runs are removed');
  assert.ok(!names.includes(leftovers.earlierSelf), 'a folder with this pid made before the sweep is removed');
  assert.ok(names.includes(leftovers.live), 'a live process’s runs stay');
  assert.ok(names.includes(leftovers.other), 'folders the sort did not name stay');
  assert.ok(
    names.some((n) => n.startsWith(`integrator-sort-${process.pid}-`)),
    'the new sort spilled',
  );
  await sort.discard();
});
