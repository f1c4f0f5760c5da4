import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Continuations, MessageVisibility } from '../core/ports.ts';

/**
 * The import queue as the import handler uses it besides receiving: continuations (a paused import sends its message
 * again, for delivery at once or after a delay) and the visibility of the message being handled (kept short and
 * extended while the run makes progress, so that a crashed run's message comes back within minutes).
 *
 * `IMPORT_QUEUE_URL` says which queue:
 * - `https://sqs.<region>.amazonaws.com/<account>/<name>` (CDK sets it): SendMessage with DelaySeconds (0 overrides
 *   the queue's delivery delay) and ChangeMessageVisibility by receipt handle.
 * - `local:<name>`: a queue living in this very process, registered with `registerLocalQueue` (the twin's LocalQueue,
 *   tests). Looked up at each call, so the handler may be built before the queue is registered.
 * - unset: neither; the handler then reports a paused message as failed (SQS redelivers it after its visibility
 *   timeout) and leaves visibilities as the queue sets them.
 */
export const LOCAL_QUEUE_PREFIX = 'local:';

/** SQS's limits: DelaySeconds 0..900, a visibility timeout 0..43,200 seconds. */
const MAX_DELAY_SECONDS = 900;
const MAX_VISIBILITY_SECONDS = 43_200;
const clamp = (seconds: number, max: number) => Math.max(0, Math.min(max, Math.ceil(seconds)));

export function sqsContinuations(client: SQSClient, queueUrl: string): Continuations {
  return {
    async continueLater(message, options = {}) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: message,
          DelaySeconds: clamp(options.delaySeconds ?? 0, MAX_DELAY_SECONDS),
        }),
      );
    },
  };
}

export function sqsVisibility(client: SQSClient, queueUrl: string): MessageVisibility {
  return {
    async change(receiptHandle, seconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: clamp(seconds, MAX_VISIBILITY_SECONDS),
        }),
      );
    },
  };
}

/** What an in-process queue offers the handler: SendMessage and ChangeMessageVisibility. */
export interface LocalQueueEndpoint {
  send(message: string, delaySeconds: number): void | Promise<void>;
  changeVisibility(receiptHandle: string, seconds: number): void | Promise<void>;
}

const localQueues = new Map<string, LocalQueueEndpoint>();

/** Makes an in-process queue reachable as `url` (`local:<name>`); returns the function that unregisters it. */
export function registerLocalQueue(url: string, endpoint: LocalQueueEndpoint): () => void {
  if (!url.startsWith(LOCAL_QUEUE_PREFIX)) throw new Error(`a local queue URL starts with ${LOCAL_QUEUE_PREFIX}`);
  localQueues.set(url, endpoint);
  return () => {
    if (localQueues.get(url) === endpoint) localQueues.delete(url);
  };
}

function localQueue(url: string): LocalQueueEndpoint {
  const endpoint = localQueues.get(url);
  if (!endpoint) throw new Error(`no local queue is registered as ${url}`);
  return endpoint;
}

export function localContinuations(url: string): Continuations {
  return {
    async continueLater(message, options = {}) {
      await localQueue(url).send(message, clamp(options.delaySeconds ?? 0, MAX_DELAY_SECONDS));
    },
  };
}

export function localVisibility(url: string): MessageVisibility {
  return {
    async change(receiptHandle, seconds) {
      await localQueue(url).changeVisibility(receiptHandle, clamp(seconds, MAX_VISIBILITY_SECONDS));
    },
  };
}

const defaultClient = (env: NodeJS.ProcessEnv) => () =>
  new SQSClient({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' });

/** The continuations `IMPORT_QUEUE_URL` names; undefined when it is not set. */
export function continuationsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  client: () => SQSClient = defaultClient(env),
): Continuations | undefined {
  const url = env.IMPORT_QUEUE_URL;
  if (!url) return undefined;
  if (url.startsWith(LOCAL_QUEUE_PREFIX)) return localContinuations(url);
  return sqsContinuations(client(), url);
}

/** The visibility of messages of the queue `IMPORT_QUEUE_URL` names (the one the handler receives from). */
export function visibilityFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  client: () => SQSClient = defaultClient(env),
): MessageVisibility | undefined {
  const url = env.IMPORT_QUEUE_URL;
  if (!url) return undefined;
  if (url.startsWith(LOCAL_QUEUE_PREFIX)) return localVisibility(url);
  return sqsVisibility(client(), url);
}
