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
import { dynamoDbMissedFirings, dynamoDbRunWatch } from '../adapters/dynamodb-run-watch.ts';
import { notifyDepsFromEnv } from '../adapters/failure-notices.ts';
import { integrationEventsFromEnv } from '../adapters/integration-events.ts';
import { assertOrgId } from '../core/transfer/layout.ts';
import { DEFAULT_MISSED_FIRINGS, missedFromDeadLetter } from '../core/transfer/missed-firings.ts';
import type { NotificationEvent } from '../core/transfer/notifications.ts';
import { DEFAULT_RUN_WATCH } from '../core/transfer/run-watch.ts';
import { notifyOnce, runWatchCycle, type WatchDeps, type WatchReport } from '../core/transfer/watch-cycle.ts';
import { count, logger, publishMetrics } from './observability.ts';

export function watchDepsFromEnv(env: NodeJS.ProcessEnv = process.env): WatchDeps {
  const db = dynamoDbDocumentClient();
  const stallMs = Number(env.INTEGRATOR_RUN_STALL_MS);
  const events = integrationEventsFromEnv(db, env);
  const graceMs = Number(env.INTEGRATOR_MISSED_FIRING_GRACE_MS);
  return {
    ...(events ? { events } : {}),
    ...notifyDepsFromEnv(db, env),
    store: dynamoDbRunWatch(db, env),
    missedFirings: {
      ...dynamoDbMissedFirings(db, env),
      settings: { ...DEFAULT_MISSED_FIRINGS, ...(Number.isFinite(graceMs) && graceMs > 0 ? { graceMs } : {}) },
    },
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

/** An SQS record as the event source mapping delivers it (the Scheduler dead-letter queue's messages). */
interface DeadLetterRecord {
  messageId: string;
  body: string;
  messageAttributes?: Record<string, { stringValue?: string }>;
}

/**
 * Firings EventBridge Scheduler could not deliver (its dead-letter queue, an event source of this function): each is
 * one schedule_missed notification. A message that is no firing is logged and dropped (nothing to notify, and it
 * would come back forever); a notification that fails is reported, so SQS delivers that message again.
 */
async function notifyDeadLetters(
  deps: WatchDeps,
  records: DeadLetterRecord[],
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of records) {
    const attributes = Object.fromEntries(
      Object.entries(record.messageAttributes ?? {}).map(([k, v]) => [k, v.stringValue]),
    );
    const read = missedFromDeadLetter(record.body, attributes);
    if (!read.ok) {
      logger.error('scheduler dead letter is not a firing', { messageId: record.messageId, problem: read.problem });
      count('SchedulerDeadLettersUnreadable', 1);
      continue;
    }
    try {
      const outcome = await notifyOnce(deps, read.event);
      count('SchedulesMissed', 1);
      logger.info('schedule_missed notification (scheduler dead letter)', {
        org: read.event.org,
        jobId: read.event.kind === 'schedule_missed' ? read.event.jobId : undefined,
        outcome,
      });
    } catch (err) {
      logger.error('schedule_missed notification failed', { messageId: record.messageId, error: String(err) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

export function createRunWatchHandler(build: () => WatchDeps = watchDepsFromEnv) {
  let deps: WatchDeps | undefined;
  return async (
    event: Record<string, unknown> = {},
  ): Promise<WatchReport | { notified: string } | { batchItemFailures: { itemIdentifier: string }[] }> => {
    deps ??= build();
    try {
      if (Array.isArray(event.Records)) return await notifyDeadLetters(deps, event.Records as DeadLetterRecord[]);
      if (event.kind === 'schedule_missed') {
        const outcome = await notifyOnce(deps, parseMissedSchedule(event));
        logger.info('schedule_missed notification', { org: event.org, jobId: event.jobId, outcome });
        return { notified: outcome };
      }
      const report = await runWatchCycle(deps);
      count('RunsInterrupted', report.interrupted.length);
      count('RunsOverdue', report.overdue.length);
      count('SchedulesMissed', report.missed.length);
      count('NotificationsSent', report.notified);
      count('NotificationFailures', report.failures.length);
      logger.info('run watch pass', {
        interrupted: report.interrupted,
        overdue: report.overdue,
        missed: report.missed,
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
