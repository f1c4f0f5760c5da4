import { SQSClient } from '@aws-sdk/client-sqs';
import type { ExportLauncher } from '../core/ports.ts';
import { LOCAL_QUEUE_PREFIX, localContinuations, sqsContinuations } from './sqs-continuations.ts';

/**
 * Export runs are handed to the export function through the export-runs queue (lib/aws/exports.ts), one message per
 * run, so that an export never runs inside the scheduled-run function (or the API) and a failed one is retried and
 * dead-lettered by the queue. `EXPORT_RUNS_QUEUE_URL`: an SQS URL (CDK), or `local:<name>` (the twin's durable queue
 * in this process); unset: none.
 */
export function exportLauncherFromEnv(env: NodeJS.ProcessEnv = process.env): ExportLauncher | undefined {
  const url = env.EXPORT_RUNS_QUEUE_URL;
  if (!url) return undefined;
  const queue = url.startsWith(LOCAL_QUEUE_PREFIX)
    ? localContinuations(url)
    : sqsContinuations(new SQSClient({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' }), url);
  return { launch: (request) => queue.continueLater(JSON.stringify(request)) };
}
