/**
 * The twin's queue against the cases of the AWS configuration (SQS semantics): delivery delay, per-message delay,
 * visibility timeout and ChangeMessageVisibility, receive counts, maxReceiveCount to the dead letters, deletion by the
 * latest receipt handle only, and durability across a crash (kill -9) of the process that held it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SQSEvent } from 'aws-lambda';
import { IMPORT_QUEUE_SETTINGS } from '../../functions/core/transfer/import-queue.ts';
import { LocalQueue, ReceiptHandleIsInvalid } from '../../lib/local/queue.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    visibilityTimeoutMs: 1,
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
    visibilityTimeoutMs: 1,
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

test('a failed message comes back only when its visibility ends, and ChangeMessageVisibility moves that', async () => {
  const seen: { at: number; count: string }[] = [];
  const started = Date.now();
  const queue: LocalQueue = new LocalQueue({
    name: 'q',
    delayMs: 0,
    visibilityTimeoutMs: 60_000,
    handler: async (e) => {
      const record = e.Records[0]!;
      seen.push({ at: Date.now() - started, count: record.attributes.ApproximateReceiveCount });
      if (seen.length === 1) {
        // What the import handler does before reporting a failure: a short backoff instead of the queue's timeout.
        queue.changeVisibility(record.receiptHandle, 150);
        return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
      }
      return undefined;
    },
  });
  queue.send('x');
  await queue.drained();
  assert.deepEqual(
    seen.map((s) => s.count),
    ['1', '2'],
  );
  assert.ok(seen[1]!.at - seen[0]!.at >= 140, 'not before the visibility set by the handler');
  await queue.close();
});

test('a message being handled is not delivered again while its visibility is extended', async () => {
  let receives = 0;
  const queue: LocalQueue = new LocalQueue({
    name: 'q',
    delayMs: 0,
    visibilityTimeoutMs: 500,
    handler: async (e) => {
      receives++;
      const handle = e.Records[0]!.receiptHandle;
      // A run that works longer than the visibility, extending it as it goes (the handler's keep-visible timer).
      for (let i = 0; i < 8; i++) {
        queue.changeVisibility(handle, 500);
        await sleep(100);
      }
      return undefined;
    },
  });
  queue.send('long');
  await queue.drained();
  assert.equal(receives, 1);
  await queue.close();
});

test('without an extension it is delivered again (concurrently), and only the latest receipt handle deletes it', async () => {
  const handles: string[] = [];
  const queue: LocalQueue = new LocalQueue({
    name: 'q',
    delayMs: 0,
    visibilityTimeoutMs: 30,
    handler: async (e) => {
      const handle = e.Records[0]!.receiptHandle;
      handles.push(handle);
      if (handles.length === 1) {
        await sleep(100);
        // The first receive finishes after the message went to another consumer: its handle no longer counts.
        assert.throws(() => queue.changeVisibility(handle, 1000), ReceiptHandleIsInvalid);
        return undefined;
      }
      return undefined;
    },
  });
  queue.send('slow');
  await queue.drained();
  assert.equal(handles.length, 2);
  assert.notEqual(handles[0], handles[1]);
  await queue.close();
});

test('maxConcurrency: at most that many batches at once, the rest wait visible and unreceived, all delivered once', async () => {
  let inFlight = 0;
  let peak = 0;
  const receives: string[] = [];
  const queue = new LocalQueue({
    name: 'q',
    delayMs: 0,
    maxConcurrency: 2,
    handler: async (e) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      for (const r of e.Records) receives.push(`${r.body}:${r.attributes.ApproximateReceiveCount}`);
      await sleep(15);
      inFlight--;
      return undefined;
    },
  });
  for (let i = 0; i < 7; i++) queue.send(`m${i}`);
  await queue.drained();
  assert.equal(peak, 2);
  // Waiting for a slot is no receive: each message was received exactly once.
  assert.deepEqual(receives.sort(), ['m0:1', 'm1:1', 'm2:1', 'm3:1', 'm4:1', 'm5:1', 'm6:1']);
  await queue.close();
});

test("the import queue's settings: dead-lettered after exactly maxReceiveCount receives", async () => {
  let receives = 0;
  const queue = new LocalQueue({
    name: 'q',
    delayMs: 0,
    visibilityTimeoutMs: 1,
    maxReceiveCount: IMPORT_QUEUE_SETTINGS.maxReceiveCount,
    handler: async (e) => {
      receives++;
      return { batchItemFailures: e.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    },
  });
  queue.send('poison');
  await queue.drained();
  assert.equal(receives, IMPORT_QUEUE_SETTINGS.maxReceiveCount);
  assert.deepEqual(
    queue.deadLetters.map((d) => [d.body, d.receiveCount]),
    [['poison', IMPORT_QUEUE_SETTINGS.maxReceiveCount]],
  );
  await queue.close();
});

test('durable: messages, receive counts, visibility and dead letters survive kill -9 of the process holding them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-queue-'));
  const stateFile = join(dir, 'queue.json');
  try {
    // A process that receives the message, sets its visibility to 300 ms, and is killed while handling it.
    const script = `
      import { LocalQueue } from './lib/local/queue.ts';
      const queue = new LocalQueue({
        name: 'q', delayMs: 0, visibilityTimeoutMs: 60000, maxReceiveCount: 2, stateFile: ${JSON.stringify(stateFile)},
        handler: async (e) => {
          queue.changeVisibility(e.Records[0].receiptHandle, 300);
          process.kill(process.pid, 'SIGKILL');
          await new Promise(() => {});
        },
      });
      queue.send('survivor');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: 'ignore',
    });
    const signal = await new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    assert.equal(signal, 'SIGKILL');
    const killedAt = Date.now();

    const seen: { count: string; at: number }[] = [];
    const queue = new LocalQueue({
      name: 'q',
      delayMs: 0,
      visibilityTimeoutMs: 1,
      maxReceiveCount: 2,
      stateFile,
      handler: async (e) => {
        seen.push({ count: e.Records[0]!.attributes.ApproximateReceiveCount, at: Date.now() });
        return { batchItemFailures: [{ itemIdentifier: e.Records[0]!.messageId }] };
      },
    });
    assert.equal(queue.size, 1, 'the message outlived the process');
    await queue.drained();
    await queue.close();
    assert.deepEqual(
      seen.map((s) => s.count),
      ['2'],
      'received again with its receive count',
    );
    assert.ok(seen[0]!.at - killedAt < 5_000);
    assert.deepEqual(
      queue.deadLetters.map((d) => d.body),
      ['survivor'],
    );
    // The dead letters are kept too.
    const reopened = new LocalQueue({ name: 'q', delayMs: 0, stateFile, handler: async () => undefined });
    assert.equal(reopened.size, 0);
    assert.deepEqual(
      reopened.deadLetters.map((d) => d.body),
      ['survivor'],
    );
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
