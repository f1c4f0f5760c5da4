import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { registerLocalQueue } from '../../functions/adapters/sqs-continuations.ts';

/**
 * The twin's stand-in for an SQS queue with a Lambda event source, with SQS's semantics:
 * - A message sent waits `delayMs` (the queue's DeliveryDelay) or its own delay (SendMessage DelaySeconds).
 * - Receiving it makes it invisible for `visibilityTimeoutMs` and counts a receive; it is handed to the handler in a
 *   batch shaped like an SQS event, with a receipt handle of that receive.
 * - The handler's successes are deleted (by the receipt handle of that receive: a stale one deletes nothing). A message
 *   it reports in batchItemFailures, or every message of a batch when it throws, stays where it is and is received
 *   again once its visibility ends: the handler may set that with `changeVisibility` (ChangeMessageVisibility) first,
 *   as it extends the visibility of a message it is still working on.
 * - A message about to be received for more than `maxReceiveCount` times is moved to the dead letters instead.
 * - Durable, as SQS is: with `stateFile` every message, its receive count, receipt handle and visibility are written
 *   (atomically: a temporary file, fsync, rename, fsync of the folder) before the change takes effect, so after the
 *   whole stack is killed (kill -9) and started again on the same state, a message that was being handled comes back
 *   when its visibility ends, with its receive count.
 *
 * Like SQS with the Lambda event source, messages whose visibility ended are delivered concurrently. `url` is the
 * queue's address for handlers in this process (`local:<name>`, see registerLocalQueue).
 */
export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface LocalQueueOptions {
  name: string;
  handler: SqsHandler;
  /** DeliveryDelay. */
  delayMs: number;
  /** VisibilityTimeout of a received message; default 30 s (SQS's default). */
  visibilityTimeoutMs?: number;
  /** Default 3. */
  maxReceiveCount?: number;
  batchSize?: number;
  /**
   * The Lambda event source's maximum concurrency (ScalingConfig.MaximumConcurrency, lib/aws/import-pipeline.ts):
   * at most this many batches are handled at once; the others stay in the queue, visible, not received (their
   * receive count does not grow). Absent: every visible message is delivered at once.
   */
  maxConcurrency?: number;
  /** Where the queue's state is kept across restarts; absent: in memory only. */
  stateFile?: string;
  onError?: (err: unknown, messageIds: string[]) => void;
}

interface Message {
  messageId: string;
  body: string;
  receiveCount: number;
  sentAt: number;
  /** Epoch ms from which the message can be received. */
  visibleAt: number;
  /** The receipt handle of its latest receive. */
  receiptHandle?: string;
  firstReceivedAt?: number;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
}

interface State {
  messages: Message[];
  deadLetters: DeadLetter[];
}

/** SQS's errors for a receipt handle that is not the latest receive's, and for a message not being handled. */
export class ReceiptHandleIsInvalid extends Error {
  override name = 'ReceiptHandleIsInvalid';
}
export class MessageNotInflight extends Error {
  override name = 'MessageNotInflight';
}

export class LocalQueue {
  readonly deadLetters: DeadLetter[] = [];
  private readonly messages = new Map<string, Message>();
  private timer: NodeJS.Timeout | undefined;
  private handling = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: LocalQueueOptions) {
    if (options.stateFile && existsSync(options.stateFile)) {
      const state = JSON.parse(readFileSync(options.stateFile, 'utf8')) as State;
      for (const m of state.messages) this.messages.set(m.messageId, m);
      this.deadLetters.push(...state.deadLetters);
    }
    this.schedule();
  }

  /** `local:<name>`: what IMPORT_QUEUE_URL holds when a handler in this process is to reach this queue. */
  get url(): string {
    return `local:${this.options.name}`;
  }

  /** Messages not yet deleted or dead-lettered (waiting, delayed, or being handled). */
  get size(): number {
    return this.messages.size;
  }

  /** Enqueues a message; `delayMs` overrides the queue's delay for this message only (SQS DelaySeconds). */
  send(body: string, options: { delayMs?: number } = {}): string {
    const now = Date.now();
    const message: Message = {
      messageId: randomUUID(),
      body,
      receiveCount: 0,
      sentAt: now,
      visibleAt: now + (options.delayMs ?? this.options.delayMs),
    };
    this.messages.set(message.messageId, message);
    this.persist();
    this.schedule();
    return message.messageId;
  }

  /** ChangeMessageVisibility: the message of this receive becomes visible `timeoutMs` from now. */
  changeVisibility(receiptHandle: string, timeoutMs: number): void {
    const message = [...this.messages.values()].find((m) => m.receiptHandle === receiptHandle);
    if (!message) throw new ReceiptHandleIsInvalid(`no message of ${this.url} was received as ${receiptHandle}`);
    const now = Date.now();
    if (message.visibleAt <= now) throw new MessageNotInflight(`message ${message.messageId} is not in flight`);
    message.visibleAt = now + timeoutMs;
    this.persist();
    this.schedule();
  }

  /** Resolves when no message is left (waiting, delayed or being handled): tests use it instead of sleeping. */
  async drained(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops receiving and waits for the batches being handled; messages left stay in the state file. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.handling > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private isIdle(): boolean {
    return this.handling === 0 && this.messages.size === 0;
  }

  private persist(): void {
    const file = this.options.stateFile;
    if (!file) return;
    const state: State = { messages: [...this.messages.values()], deadLetters: this.deadLetters };
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
    // The rename itself is durable only once the folder is.
    const dir = openSync(dirname(file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }

  /** One timer, for the next moment a message becomes visible. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.messages.size === 0) return;
    // All slots busy: the end of a delivery schedules again (no timer spinning meanwhile).
    if (this.freeSlots() <= 0) return;
    let next = Number.POSITIVE_INFINITY;
    for (const m of this.messages.values()) next = Math.min(next, m.visibleAt);
    this.timer = setTimeout(() => this.receive(), Math.max(0, next - Date.now()));
  }

  private freeSlots(): number {
    return (this.options.maxConcurrency ?? Number.POSITIVE_INFINITY) - this.handling;
  }

  private receive(): void {
    this.timer = undefined;
    if (this.closed) return;
    const slots = this.freeSlots();
    const now = Date.now();
    const visible = [...this.messages.values()]
      .filter((m) => m.visibleAt <= now)
      .sort((a, b) => a.visibleAt - b.visibleAt || a.sentAt - b.sentAt);
    const maxReceives = this.options.maxReceiveCount ?? 3;
    const batches: { message: Message; receiptHandle: string }[][] = [];
    let batch: { message: Message; receiptHandle: string }[] = [];
    for (const m of visible) {
      if (batches.length >= slots) break;
      if (m.receiveCount >= maxReceives) {
        this.messages.delete(m.messageId);
        this.deadLetters.push({ messageId: m.messageId, body: m.body, receiveCount: m.receiveCount });
        continue;
      }
      m.receiveCount++;
      m.firstReceivedAt ??= now;
      m.receiptHandle = `local-${m.messageId}-${m.receiveCount}-${randomUUID()}`;
      m.visibleAt = now + (this.options.visibilityTimeoutMs ?? 30_000);
      batch.push({ message: m, receiptHandle: m.receiptHandle });
      if (batch.length >= (this.options.batchSize ?? 1)) {
        batches.push(batch);
        batch = [];
      }
    }
    if (batch.length > 0) batches.push(batch);
    // Received (counts, handles, visibility) is on disk before any handler sees a message.
    this.persist();
    for (const b of batches) void this.deliver(b);
    this.schedule();
    this.notifyIfIdle();
  }

  private async deliver(batch: { message: Message; receiptHandle: string }[]): Promise<void> {
    this.handling++;
    let failed: Set<string>;
    try {
      const response = await this.options.handler({
        Records: batch.map(({ message, receiptHandle }) => this.toRecord(message, receiptHandle)),
      });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      this.options.onError?.(
        err,
        batch.map(({ message }) => message.messageId),
      );
      failed = new Set(batch.map(({ message }) => message.messageId));
    }
    let changed = false;
    for (const { message, receiptHandle } of batch) {
      if (failed.has(message.messageId)) continue;
      // DeleteMessage by this receive's handle: when the message was received again meanwhile, it stays.
      if (this.messages.get(message.messageId)?.receiptHandle === receiptHandle) {
        this.messages.delete(message.messageId);
        changed = true;
      }
    }
    if (changed) this.persist();
    this.handling--;
    this.schedule();
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private toRecord(m: Message, receiptHandle: string): SQSRecord {
    const record = sqsRecord(m.body, {
      messageId: m.messageId,
      receiveCount: m.receiveCount,
      sentAt: m.sentAt,
      queueName: this.options.name,
    });
    return {
      ...record,
      receiptHandle,
      attributes: { ...record.attributes, ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? Date.now()) },
    };
  }
}

/** One message as the SQS event source hands it to a Lambda: the shape the twin, tests and benchmarks all send. */
export function sqsRecord(
  body: string,
  options: { messageId?: string; receiveCount?: number; sentAt?: number; queueName?: string } = {},
): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  const receiveCount = options.receiveCount ?? 1;
  return {
    messageId,
    receiptHandle: `local-${messageId}-${receiveCount}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(options.sentAt ?? Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${options.queueName ?? 'import-queue'}`,
    awsRegion: 'us-east-1',
  };
}

/**
 * Lets handlers in this process use `queue` as the import queue (IMPORT_QUEUE_URL = `queue.url`): continuations are
 * enqueued with their delay, as the SQS adapter sends them, and visibilities changed by receipt handle. Returns the
 * function that unregisters the queue.
 */
export function acceptContinuations(queue: LocalQueue): () => void {
  return registerLocalQueue(queue.url, {
    send: (body, delaySeconds) => void queue.send(body, { delayMs: delaySeconds * 1000 }),
    changeVisibility: (receiptHandle, seconds) => queue.changeVisibility(receiptHandle, seconds * 1000),
  });
}
