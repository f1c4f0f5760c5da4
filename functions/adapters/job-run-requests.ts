import { SQSClient } from '@aws-sdk/client-sqs';
import type { JobRunRequests } from '../core/ports.ts';
import { LOCAL_QUEUE_PREFIX, localContinuations, sqsContinuations } from './sqs-continuations.ts';

/**
 * Run-now requests go to the job-runs queue, the one the Scheduler's schedules target too (lib/aws/schedules.ts), so
 * a requested run and a scheduled one reach functions/handlers/scheduled-run.ts the same way, at least once.
 * `JOB_RUNS_QUEUE_URL`: an SQS URL (CDK), or `local:<name>` (the twin's queue in this process); unset: none.
 */
export function jobRunRequestsFromEnv(env: NodeJS.ProcessEnv = process.env): JobRunRequests | undefined {
  const url = env.JOB_RUNS_QUEUE_URL;
  if (!url) return undefined;
  const queue = url.startsWith(LOCAL_QUEUE_PREFIX)
    ? localContinuations(url)
    : sqsContinuations(new SQSClient({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' }), url);
  return { request: (request) => queue.continueLater(JSON.stringify(request)) };
}
