/**
 * The calendar resume check, on a schedule (EventBridge Scheduler every RESUME_RATE in AWS, lib/aws/calendar-resume.ts;
 * a timer on the twin): a connection paused by Google's daily quota (quotaExceeded, until the next Pacific midnight)
 * is lifted once the pause lapses and its queued changes are flushed through the stream, so they go out within a
 * check's interval of the quota's reset even when the case manager changes nothing meanwhile. Thin: the rule is
 * core/calendar/push-run.ts resumeLapsedPauses.
 *
 * Environment: TABLE_CALENDAR_CONNECTIONS (its byPause index; the connections), TABLE_CALENDAR_EVENTS (the flush
 * markers).
 */
import { dynamoDbDocumentClient } from '../adapters/aws-clients.ts';
import { dynamoDbCalendarStore, dynamoDbLapsedPauses } from '../adapters/dynamodb-calendar.ts';
import { type ResumeDeps, resumeLapsedPauses } from '../core/calendar/push-run.ts';
import { systemClock } from '../core/ports.ts';
import { count, logger, publishMetrics } from './observability.ts';

export function resumeDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ResumeDeps {
  const db = dynamoDbDocumentClient();
  return { store: dynamoDbCalendarStore(db, env), pauses: dynamoDbLapsedPauses(db, env), clock: systemClock };
}

export function createCalendarResumeHandler(build: () => ResumeDeps = resumeDepsFromEnv) {
  let deps: ResumeDeps | undefined;
  return async (): Promise<{ lifted: number }> => {
    deps ??= build();
    try {
      const lifted = await resumeLapsedPauses(deps);
      count('CalendarPausesLifted', lifted);
      if (lifted > 0) logger.info('calendar pauses lifted', { lifted });
      return { lifted };
    } finally {
      publishMetrics();
    }
  };
}

export const handler = createCalendarResumeHandler();
