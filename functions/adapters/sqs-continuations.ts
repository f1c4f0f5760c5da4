import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Continuations } from '../core/ports.ts';

/**
 * Continuations on a queue: a paused import sends its message to the import queue again, for delivery at once.
 *
 * `IMPORT_QUEUE_URL` says which queue:
 * - `https://sqs.<region>.amazonaws.com/<account>/<name>` (CDK sets it): SendMessage with DelaySeconds 0, which
 *   overrides the queue's 30-second delivery delay (that delay is for fresh uploads, see lib/aws/import-pipeline.ts).
 * - `local:<name>`: a queue living in this very process, registered with `registerLocalQueue` (the twin's LocalQueue,
 *   tests). Looked up when a continuation is sent, so the handler may be built before the queue is registered.
 * - unset: no continuations; the handler falls back to reporting the paused message as failed (SQS redelivers it
 *   after its visibility timeout).
 */
export const LOCAL_QUEUE_PREFIX = 'local:';

export function sqsContinuations(client: SQSClient, queueUrl: string): Continuations {
  return {
    async continueLater(message, delaySeconds = 0) {
      await client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message, DelaySeconds: Math.min(delaySeconds, 900) }),
      );
    },
  };
}

type LocalSend = (message: string, delaySeconds: number) => void | Promise<void>;
const localQueues = new Map<string, LocalSend>();

/** Makes an in-process queue reachable as `url` (`local:<name>`); returns the function that unregisters it. */
export function registerLocalQueue(url: string, send: LocalSend): () => void {
  if (!url.startsWith(LOCAL_QUEUE_PREFIX)) throw new Error(`a local queue URL starts with ${LOCAL_QUEUE_PREFIX}`);
  localQueues.set(url, send);
  return () => {
    if (localQueues.get(url) === send) localQueues.delete(url);
  };
}

export function localContinuations(url: string): Continuations {
  return {
    async continueLater(message, delaySeconds = 0) {
      const send = localQueues.get(url);
      if (!send) throw new Error(`no local queue is registered as ${url}`);
      await send(message, delaySeconds);
    },
  };
}

/** The continuations `IMPORT_QUEUE_URL` names; undefined when it is not set. */
export function continuationsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  client: () => SQSClient = () => new SQSClient({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' }),
): Continuations | undefined {
  const url = env.IMPORT_QUEUE_URL;
  if (!url) return undefined;
  if (url.startsWith(LOCAL_QUEUE_PREFIX)) return localContinuations(url);
  return sqsContinuations(client(), url);
}
