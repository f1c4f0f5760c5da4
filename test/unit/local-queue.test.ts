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

test("a message's own delay overrides the queue's (SQS DelaySeconds), and url names the queue for handlers", async () => {
  const seen: string[] = [];
  const queue = new LocalQueue({
    name: 'import-queue',
    delayMs: 60_000,
    handler: async (e) => {
      seen.push(...e.Records.map((r) => r.body));
      return undefined;
    },
  });
  assert.equal(queue.url, 'local:import-queue');
  queue.send('now', { delayMs: 0 });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ['now']);
  queue.send('later');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ['now'], 'the queue delay still applies to other messages');
  await queue.close();
});

test('a message sent while another is handled (a continuation) is delivered before drained() resolves', async () => {
  const seen: string[] = [];
  const queue: LocalQueue = new LocalQueue({
    name: 'q',
    delayMs: 1,
    handler: async (e) => {
      for (const r of e.Records) {
        seen.push(r.body);
        const n = Number(r.body);
        if (n < 3) queue.send(String(n + 1), { delayMs: 0 });
      }
      return { batchItemFailures: [] };
    },
  });
  queue.send('0');
  await queue.drained();
  assert.deepEqual(seen, ['0', '1', '2', '3']);
  assert.equal(queue.deadLetters.length, 0);
  await queue.close();
});
