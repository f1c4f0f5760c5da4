import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sequenceBlock } from '../../functions/adapters/dynamodb-change-sequence.ts';
import type { ChangeSequence } from '../../functions/core/ports.ts';

function counter(): ChangeSequence & { calls: number[] } {
  let last = 0;
  const calls: number[] = [];
  return {
    calls,
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
}

test('a growing block doubles each reservation up to its maximum; numbers stay unique and rising', async () => {
  const sequence = counter();
  const next = sequenceBlock(sequence, 'acme', 4, 10_000, () => 0, 16);
  const numbers: number[] = [];
  for (let i = 0; i < 60; i++) numbers.push(await next());
  assert.deepEqual(sequence.calls, [4, 8, 16, 16, 16]);
  assert.deepEqual(
    numbers,
    Array.from({ length: 60 }, (_, i) => i + 1),
  );
});

test('a growing block past its lease is dropped: its rest are gaps, the next block is the next size', async () => {
  const sequence = counter();
  let now = 0;
  const next = sequenceBlock(sequence, 'acme', 4, 1000, () => now, 64);
  assert.equal(await next(), 1);
  now = 1001; // numbers 2-4 are never written: a number is used within the lease of its reservation
  assert.equal(await next(), 5);
  assert.deepEqual(sequence.calls, [4, 8]);
  const concurrent = await Promise.all(Array.from({ length: 12 }, () => next()));
  assert.equal(new Set(concurrent).size, 12);
  assert.ok(concurrent.every((n) => n > 5));
});
