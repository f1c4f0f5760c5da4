import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sequenceBlock } from '../../functions/adapters/dynamodb-change-sequence.ts';
import type { ChangeSequence } from '../../functions/core/ports.ts';
import { dayIn, freeExportKey } from '../../functions/core/transfer/export-file.ts';

test('the file date is the day in the job time zone', () => {
  const at = new Date('2026-12-02T01:30:00Z');
  assert.equal(dayIn(at, 'UTC'), '20261202');
  assert.equal(dayIn(at, 'America/Los_Angeles'), '20261201');
  assert.equal(dayIn(new Date('2026-12-01T23:30:00Z'), 'Asia/Tokyo'), '20261202');
  // The night of a daylight-saving change: 2026-03-08 02:30 does not exist in Los Angeles; the date is still right.
  assert.equal(dayIn(new Date('2026-03-08T10:30:00Z'), 'America/Los_Angeles'), '20260308');
});

test('a second run on one day gets the next free name; nothing is overwritten', async () => {
  const taken = new Set<string>();
  const exists = async (key: string) => taken.has(key);
  const first = await freeExportKey(exists, 'acme', 'case_status_export', '20261202');
  assert.equal(first.key, 'outbound/acme/case_status_export_20261202.csv');
  taken.add(first.key);
  const second = await freeExportKey(exists, 'acme', 'case_status_export', '20261202');
  assert.equal(second.name, 'case_status_export_20261202_2.csv');
  taken.add(second.key);
  assert.equal((await freeExportKey(exists, 'acme', 'case_status_export', '20261202')).attempt, 3);
  assert.equal((await freeExportKey(exists, 'acme', 'case_status_export', '20261203')).attempt, 1);
});

test('a sequence block hands out its numbers in order and reserves anew past its lease', async () => {
  let last = 0;
  const calls: number[] = [];
  const sequence: ChangeSequence = {
    async reserve(_org, count) {
      calls.push(count);
      const first = last + 1;
      last += count;
      return first;
    },
    async current() {
      return last;
    },
  };
  let now = 0;
  const next = sequenceBlock(sequence, 'acme', 3, 1000, () => now);
  assert.deepEqual([await next(), await next()], [1, 2]);
  now = 1500; // the block's lease is over: its last number is never used
  assert.equal(await next(), 4);
  assert.deepEqual(calls, [3, 3]);
  const concurrent = await Promise.all([next(), next(), next(), next()]);
  assert.deepEqual(
    concurrent.sort((a, b) => a - b),
    [5, 6, 7, 8],
  );
});
