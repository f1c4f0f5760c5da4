import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SQSEvent } from 'aws-lambda';
import { LocalQueue } from '../../lib/local/queue.ts';

test('delivers messages as SQS events after the delay', async () => {
  const seen: SQSEvent[] = [];
  const queue = new LocalQueue({
    name: 'q',
    delayMs: 5,
    handler: async (e) => {
      seen.push(e);
      return undefined;
    },
  });
  const id = queue.send('{"a":1}');
  await queue.drained();
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.Records[0]?.messageId, id);
  assert.equal(seen[0]?.Records[0]?.body, '{"a":1}');
  assert.equal(seen[0]?.Records[0]?.attributes.ApproximateReceiveCount, '1');
  await queue.close();
});

test('retries reported failures and moves a message to the dead letters after maxReceiveCount', async () => {
  let calls = 0;
  const queue = new LocalQueue({
    name: 'q',
    delayMs: 1,
    retryDelayMs: 1,
    maxReceiveCount: 3,
    handler: async (e) => {
      calls++;
      return { batchItemFailures: e.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    },
  });
  queue.send('poison');
  await queue.drained();
  assert.equal(calls, 3);
  assert.deepEqual(
    queue.deadLetters.map((d) => d.body),
    ['poison'],
  );
  await queue.close();
});

test('a handler that throws fails the whole batch, and a later success stops the retries', async () => {
  let calls = 0;
  const queue = new LocalQueue({
    name: 'q',
    delayMs: 1,
    retryDelayMs: 1,
    handler: async () => {
      calls++;
      if (calls === 1) throw new Error('transient');
      return undefined;
    },
  });
  queue.send('x');
  await queue.drained();
  assert.equal(calls, 2);
  assert.equal(queue.deadLetters.length, 0);
  await queue.close();
});
