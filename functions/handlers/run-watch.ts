/**
 * The run watch (EventBridge Scheduler every few minutes in AWS, lib/aws/operations.ts; a timer on the twin): ends
 * stalled runs Interrupted and sends each failure, overdue run and missed schedule its one e-mail
 * (core/transfer/watch-cycle.ts). Also accepts a `schedule_missed` event from the schedule check (engineer S's
 * scheduled-run handler invokes it asynchronously with `{ kind: 'schedule_missed', org, jobId, jobName?, expectedAt }`).
 *
 * Environment: NOTIFY_FROM (a verified SES identity), NOTIFY_MESSAGE_DOMAIN, SES_CONFIGURATION_SET (AWS) or
 * INTEGRATOR_MAIL_DIR (the twin's mailbox), REPORTS_URL (named in e-mails), INTEGRATOR_RUN_STALL_MS (default 10 min).
 */
import { dynamoDbDocumentClient } from '../adapters/aws-clients.ts';
import { dynamoDbRunWatch } from '../adapters/dynamodb-run-watch.ts';
import { notifyDepsFromEnv } from '../adapters/failure-notices.ts';
import { assertOrgId } from '../core/transfer/layout.ts';
import type { NotificationEvent } from '../core/transfer/notifications.ts';
import { DEFAULT_RUN_WATCH } from '../core/transfer/run-watch.ts';
import { notifyOnce, runWatchCycle, type WatchDeps, type WatchReport } from '../core/transfer/watch-cycle.ts';
import { count, logger, publishMetrics } from './observability.ts';

export function watchDepsFromEnv(env: NodeJS.ProcessEnv = process.env): WatchDeps {
  const db = dynamoDbDocumentClient();
  const stallMs = Number(env.INTEGRATOR_RUN_STALL_MS);
  return {
    ...notifyDepsFromEnv(db, env),
    store: dynamoDbRunWatch(db, env),
    settings: { ...DEFAULT_RUN_WATCH, ...(Number.isFinite(stallMs) && stallMs > 0 ? { stallMs } : {}) },
  };
}

/** A schedule_missed event as received, checked: anything else is refused (thrown, so it lands in the DLQ). */
export function parseMissedSchedule(input: Record<string, unknown>): NotificationEvent {
  const { org, jobId, jobName, expectedAt, reason } = input;
  if (typeof org !== 'string' || typeof jobId !== 'string' || typeof expectedAt !== 'string') {
    throw new Error('schedule_missed needs org, jobId and expectedAt');
  }
  assertOrgId(org);
  if (Number.isNaN(Date.parse(expectedAt))) throw new Error('schedule_missed: expectedAt is not a time');
  return {
    kind: 'schedule_missed',
    org,
    jobId,
    expectedAt,
    ...(typeof jobName === 'string' ? { jobName } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

export function createRunWatchHandler(build: () => WatchDeps = watchDepsFromEnv) {
  let deps: WatchDeps | undefined;
  return async (event: Record<string, unknown> = {}): Promise<WatchReport | { notified: string }> => {
    deps ??= build();
    try {
      if (event.kind === 'schedule_missed') {
        const outcome = await notifyOnce(deps, parseMissedSchedule(event));
        logger.info('schedule_missed notification', { org: event.org, jobId: event.jobId, outcome });
        return { notified: outcome };
      }
      const report = await runWatchCycle(deps);
      count('RunsInterrupted', report.interrupted.length);
      count('RunsOverdue', report.overdue.length);
      count('NotificationsSent', report.notified);
      count('NotificationFailures', report.failures.length);
      logger.info('run watch pass', {
        interrupted: report.interrupted,
        overdue: report.overdue,
        notified: report.notified,
        failures: report.failures,
      });
      // A failed send is retried by the next pass; the error makes it visible (Lambda errors alarm).
      if (report.failures.length > 0) throw new Error(`${report.failures.length} notification(s) could not be sent`);
      return report;
    } finally {
      publishMetrics();
    }
  };
}

export const handler = createRunWatchHandler();
