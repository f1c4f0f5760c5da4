import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { registerLocalQueue } from '../../functions/adapters/sqs-continuations.ts';

/**
 * The twin's stand-in for an SQS queue with a Lambda event source: messages wait `delayMs` (the queue's
 * DeliveryDelay), are handed to the handler in batches shaped like SQS events, and a message the handler reports in
 * batchItemFailures (or every message, when it throws) is retried until `maxReceiveCount`, then moved to the
 * dead-letter list. The handler is the very function the Lambda runs.
 *
 * A message may be sent with its own delay, as SQS's per-message DelaySeconds overrides the queue's DeliveryDelay:
 * the import handler's continuations (functions/adapters/sqs-continuations.ts) are sent with none. `url` is the
 * queue's address for handlers in this process (`local:<name>`, see registerLocalQueue there).
 */
export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface LocalQueueOptions {
  name: string;
  handler: SqsHandler;
  delayMs: number;
  retryDelayMs?: number;
  maxReceiveCount?: number;
  batchSize?: number;
  onError?: (err: unknown, messageIds: string[]) => void;
}

interface Message {
  messageId: string;
  body: string;
  receiveCount: number;
  sentAt: number;
}

export class LocalQueue {
  readonly deadLetters: { messageId: string; body: string }[] = [];
  private readonly waiting: Message[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: LocalQueueOptions) {}

  /** `local:<name>`: what IMPORT_QUEUE_URL holds when a handler in this process is to reach this queue. */
  get url(): string {
    return `local:${this.options.name}`;
  }

  /** Enqueues a message; `delayMs` overrides the queue's delay for this message only (SQS DelaySeconds). */
  send(body: string, options: { delayMs?: number } = {}): string {
    const message: Message = { messageId: randomUUID(), body, receiveCount: 0, sentAt: Date.now() };
    this.schedule(message, options.delayMs ?? this.options.delayMs);
    return message.messageId;
  }

  /** Resolves when no message is waiting or being handled: tests use it instead of sleeping. */
  async drained(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.timers.size === 0 && this.waiting.length === 0;
  }

  private schedule(message: Message, delay: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.waiting.push(message);
      void this.deliver();
    }, delay);
    this.timers.add(timer);
  }

  private async deliver(): Promise<void> {
    const batch = this.waiting.splice(0, this.options.batchSize ?? 1);
    if (batch.length === 0) return;
    this.inFlight++;
    for (const m of batch) m.receiveCount++;
    let failed: Set<string>;
    try {
      const response = await this.options.handler({ Records: batch.map((m) => this.toRecord(m)) });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      this.options.onError?.(
        err,
        batch.map((m) => m.messageId),
      );
      failed = new Set(batch.map((m) => m.messageId));
    }
    for (const m of batch.filter((b) => failed.has(b.messageId))) {
      if (m.receiveCount >= (this.options.maxReceiveCount ?? 3)) {
        this.deadLetters.push({ messageId: m.messageId, body: m.body });
      } else {
        this.schedule(m, this.options.retryDelayMs ?? 1000);
      }
    }
    this.inFlight--;
    if (this.waiting.length > 0) void this.deliver();
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private toRecord(m: Message): SQSRecord {
    return sqsRecord(m.body, {
      messageId: m.messageId,
      receiveCount: m.receiveCount,
      sentAt: m.sentAt,
      queueName: this.options.name,
    });
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
 * Lets handlers in this process send continuations to `queue` (IMPORT_QUEUE_URL = `queue.url`): each is enqueued with
 * the delay it asks for (none for a paused run, some for a file waiting for its turn), as the SQS adapter sends them. Returns the function that unregisters the queue.
 */
export function acceptContinuations(queue: LocalQueue): () => void {
  return registerLocalQueue(queue.url, (body, delaySeconds) => void queue.send(body, { delayMs: delaySeconds * 1000 }));
}
