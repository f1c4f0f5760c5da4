/**
 * The calendar push: invoked with batches of the CalendarEvents table's stream (DynamoDB Streams event source in
 * AWS, lib/aws/calendar.ts; on the twin the poller of lib/local/calendar-stream.ts calls the same handler). Each
 * record goes through core/calendar/push-run.ts in order; the first that must be retried is reported as the batch's
 * failure (ReportBatchItemFailures), so the stream delivers it and everything after it again, in order, and nothing
 * before it twice. A push that keeps failing is parked by the core (listed through the API), so a record is never
 * retried forever; the event source's on-failure destination (the DLQ) keeps what the handler itself could not do.
 *
 * Environment: the TABLE_* names, NOTIFY_FROM, NOTIFY_MESSAGE_DOMAIN, mail (SES or INTEGRATOR_MAIL_DIR),
 * CALENDAR_KEY_ARN (or INTEGRATOR_CALENDAR_LOCAL_KEY on the twin), CALENDAR_SETTINGS_URL (named in the notice),
 * CALENDAR_GOOGLE_SECRET_ARN / CALENDAR_MICROSOFT_SECRET_ARN (the providers' OAuth clients, in AWS).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { dynamoDbDocumentClient } from '../adapters/aws-clients.ts';
import { registerProvidersAtColdStart } from '../adapters/calendar-provider-secrets.ts';
import { calendarProvidersFor } from '../adapters/calendar-providers.ts';
import { dynamoDbCalendarStore } from '../adapters/dynamodb-calendar.ts';
import { dynamoDbOutbox } from '../adapters/dynamodb-outbox.ts';
import { integrationEventsFromEnv } from '../adapters/integration-events.ts';
import { mailerFromEnv } from '../adapters/mailer.ts';
import type { CalendarEvent } from '../core/calendar/events.ts';
import { notifyReauthOnce } from '../core/calendar/notices.ts';
import type { CalendarProvider, CalendarProviderId } from '../core/calendar/provider.ts';
import { type PushDeps, pushChange, type StreamChange } from '../core/calendar/push-run.ts';
import { calendarReauthenticationRequired } from '../core/integration-events.ts';
import { count, logger, publishMetrics } from './observability.ts';

const BOOKKEEPING = ['ownerKey', 'startKey', 'expiresAt'];

function imageOf(image: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!image) return undefined;
  const item = unmarshall(image as Record<string, AttributeValue>);
  for (const key of BOOKKEEPING) delete item[key];
  return item;
}

/** A stream record as the push sees it. */
export function changeOf(record: DynamoDBRecord): StreamChange {
  const before = imageOf(record.dynamodb?.OldImage as Record<string, unknown> | undefined);
  const after = imageOf(record.dynamodb?.NewImage as Record<string, unknown> | undefined);
  const item = after ?? before;
  if (!item || typeof item.org !== 'string' || typeof item.eventId !== 'string') return { type: 'ignore' };
  if (typeof item.flushOf === 'string') {
    return record.eventName === 'INSERT'
      ? { type: 'flush', org: item.org, connectionId: item.flushOf }
      : { type: 'ignore' };
  }
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  const changedAt =
    record.eventName === 'REMOVE' || typeof after?.updatedAt !== 'string'
      ? new Date(typeof seconds === 'number' ? seconds * 1000 : Date.now()).toISOString()
      : (after.updatedAt as string);
  return {
    type: 'event',
    org: item.org,
    eventId: item.eventId,
    ...(before ? { before: before as unknown as CalendarEvent } : {}),
    ...(after ? { after: after as unknown as CalendarEvent } : {}),
    changedAt,
  };
}

export function createCalendarPushHandler(
  deps: PushDeps,
): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  return async (event) => {
    for (const record of event.Records) {
      const sequence = record.dynamodb?.SequenceNumber ?? record.eventID ?? '';
      let result: 'done' | 'retry';
      try {
        result = await pushChange(changeOf(record), deps);
      } catch (err) {
        // Our own store failing (not the provider's, which the core handles): retried through the stream.
        logger.error('calendar push record failed', { sequence, error: (err as Error).message });
        result = 'retry';
      }
      if (result === 'retry') {
        count('CalendarPushRetried', 1);
        return { batchItemFailures: [{ itemIdentifier: sequence }] };
      }
      count('CalendarPushRecords', 1);
    }
    return { batchItemFailures: [] };
  };
}

export function pushDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  providersFor?: (org: string) => Partial<Record<CalendarProviderId, CalendarProvider>>,
): (org: string) => PushDeps {
  const db = dynamoDbDocumentClient();
  const store = dynamoDbCalendarStore(db, env);
  const outbox = dynamoDbOutbox(db, env);
  const mailer = mailerFromEnv(env);
  const clock = { now: () => new Date() };
  const providers = providersFor ?? calendarProvidersFor(db, env);
  const events = integrationEventsFromEnv(db, env);
  const notice = {
    outbox,
    mailer,
    clock,
    from: env.NOTIFY_FROM ?? 'integrator@localhost',
    messageDomain: env.NOTIFY_MESSAGE_DOMAIN ?? 'integrator.local',
    ...(env.CALENDAR_SETTINGS_URL ? { settingsUrl: env.CALENDAR_SETTINGS_URL } : {}),
  };
  return (org) => ({
    store,
    providers: providers(org),
    clock,
    notifyReauth: async (connection, manager) => {
      await notifyReauthOnce(notice, connection, manager);
      // For the case-management system: once per lapse (the id carries when the connection was found unusable).
      await events?.publish([
        calendarReauthenticationRequired({
          org: connection.org,
          connectionId: connection.connectionId,
          provider: connection.provider,
          userId: manager.userId,
          since: connection.reauthRequiredAt ?? clock.now().toISOString(),
        }),
      ]);
    },
    log: (entry) => logger.info(String(entry.message), entry),
    count,
  });
}

/** Per record the organization's providers: one handler over all organizations. */
export function handlerFor(
  depsFor: (org: string) => PushDeps,
): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  return async (event) => {
    const byOrg = new Map<string, ReturnType<typeof createCalendarPushHandler>>();
    const failures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const change = changeOf(record);
      const org = change.type === 'ignore' ? undefined : change.org;
      if (!org) continue;
      let handle = byOrg.get(org);
      if (!handle) {
        handle = createCalendarPushHandler(depsFor(org));
        byOrg.set(org, handle);
      }
      const answer = await handle({ Records: [record] });
      if (answer.batchItemFailures.length > 0) {
        failures.push(...answer.batchItemFailures);
        // Everything after the first failure is delivered again anyway, in order.
        break;
      }
    }
    publishMetrics();
    return { batchItemFailures: failures };
  };
}

let built: Promise<(event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>> | undefined;

/** In AWS: the providers from their secrets (calendar-provider-secrets.ts), once per cold start, then the pushes. */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  built ??= registerProvidersAtColdStart(process.env, (message, details) => logger.warn(message, details)).then(() =>
    handlerFor(pushDepsFromEnv()),
  );
  return (await built)(event);
};
