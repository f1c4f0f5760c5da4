/**
 * The calendar's store (core/calendar/store.ts) on DynamoDB: CalendarEvents (org, eventId; byCaseManager),
 * CalendarConnections (org, itemKey) and CalendarLinks (connKey `<org>#<connectionId>`, eventId; byParked). Every
 * key starts with the organization, so a key built for one organization never reads another's item.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AuthorizationState, CalendarConnection, CaseManager } from '../core/calendar/connections.ts';
import { type CalendarEvent, startKey } from '../core/calendar/events.ts';
import type { CalendarLink } from '../core/calendar/push.ts';
import type { CalendarStore, LapsedPauses } from '../core/calendar/store.ts';
import { cursorKey, decodeCursor, encodeCursor, InvalidCursor, type Page } from '../core/pages.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';

/** Flush markers live a day: long enough for any retry of the stream, then TTL removes them. */
const FLUSH_MARKER_SECONDS = 24 * 3600;
export const FLUSH_PREFIX = '~flush#';

const EVENT_KEYS = ['ownerKey', 'startKey', 'expiresAt'] as const;
const CONNECTION_KEYS = ['itemKey', 'expiresAt', 'pauseList'] as const;
/** The byPause index's one partition: what a paused connection carries (schemas/tables.ts). */
const PAUSE_LIST = 'paused';
const LINK_KEYS = ['connKey', 'parkedList', 'parkedKey'] as const;

function strip<T>(item: Record<string, unknown> | undefined, keys: readonly string[]): T | undefined {
  if (!item) return undefined;
  const copy = { ...item };
  for (const key of keys) delete copy[key];
  return copy as T;
}

/** An index page's cursor: exactly the index and table keys, in the caller's partition. */
function decodeIndexCursor(
  cursor: string | undefined,
  expected: Record<string, string | undefined>,
): Record<string, string> | undefined {
  const record = cursorKey(cursor, Object.keys(expected));
  if (record === undefined) return undefined;
  for (const [name, value] of Object.entries(expected)) {
    if (typeof record[name] !== 'string' || record[name] === '') throw new InvalidCursor('not a key of this list');
    if (value !== undefined && record[name] !== value) throw new InvalidCursor('of another list');
  }
  return record as Record<string, string>;
}

export function linkKey(org: string, connectionId: string): string {
  return `${org}#${connectionId}`;
}

export function dynamoDbCalendarStore(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): CalendarStore {
  const events = tableName('CalendarEvents', env);
  const settings = tableName('CalendarConnections', env);
  const links = tableName('CalendarLinks', env);

  const getSetting = async <T>(org: string, itemKey: string): Promise<T | undefined> => {
    const out = await db.send(new GetCommand({ TableName: settings, Key: { org, itemKey }, ConsistentRead: true }));
    return strip<T>(out.Item, CONNECTION_KEYS);
  };
  const putSetting = async (org: string, itemKey: string, value: object, extra: Record<string, unknown> = {}) => {
    await db.send(new PutCommand({ TableName: settings, Item: { ...value, ...extra, org, itemKey } }));
  };
  const querySettings = async <T>(org: string, prefix: string, limit: number, cursor?: string): Promise<Page<T>> => {
    const start = decodeCursor(cursor, { partition: 'org', partitionValue: org, sort: 'itemKey' });
    if (start && !start.itemKey!.startsWith(prefix)) throw new InvalidCursor('of another list');
    const out = await db.send(
      new QueryCommand({
        TableName: settings,
        KeyConditionExpression: 'org = :org AND begins_with(itemKey, :prefix)',
        ExpressionAttributeValues: { ':org': org, ':prefix': prefix },
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    return {
      items: (out.Items ?? []).map((i) => strip<T>(i, CONNECTION_KEYS)!),
      ...(out.LastEvaluatedKey ? { next: encodeCursor(out.LastEvaluatedKey) } : {}),
    };
  };

  return {
    getSubscription: (org) => getSetting(org, 'subscription'),
    putSubscription: (subscription) => putSetting(subscription.org, 'subscription', subscription),

    getManager: (org, userId) => getSetting<CaseManager>(org, `manager#${userId}`),
    putManager: (manager) => putSetting(manager.org, `manager#${manager.userId}`, manager),
    async deleteManager(org, userId) {
      await db.send(new DeleteCommand({ TableName: settings, Key: { org, itemKey: `manager#${userId}` } }));
    },
    listManagers: (org, page) => querySettings<CaseManager>(org, 'manager#', page.limit, page.cursor),

    async getEvent(org, eventId) {
      const out = await db.send(new GetCommand({ TableName: events, Key: { org, eventId }, ConsistentRead: true }));
      if (out.Item?.flushOf) return undefined;
      return strip<CalendarEvent>(out.Item, EVENT_KEYS);
    },
    async putEvent(event, expectedVersion) {
      try {
        await db.send(
          new PutCommand({
            TableName: events,
            Item: { ...event, ownerKey: `${event.org}#${event.caseManagerId}`, startKey: startKey(event.when) },
            ...(expectedVersion === 0
              ? { ConditionExpression: 'attribute_not_exists(eventId)' }
              : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': expectedVersion } }),
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },
    async deleteEvent(org, eventId) {
      const out = await db
        .send(
          new DeleteCommand({
            TableName: events,
            Key: { org, eventId },
            ConditionExpression: 'attribute_not_exists(flushOf)',
            ReturnValues: 'ALL_OLD',
          }),
        )
        .catch((err) => {
          if (isConditionFailed(err)) return { Attributes: undefined };
          throw err;
        });
      return strip<CalendarEvent>(out.Attributes, EVENT_KEYS);
    },
    async listEvents(org, page) {
      let input: QueryCommandInput;
      if (page.caseManagerId) {
        const ownerKey = `${org}#${page.caseManagerId}`;
        const start = decodeIndexCursor(page.cursor, { ownerKey, startKey: undefined, org, eventId: undefined });
        input = {
          TableName: events,
          IndexName: 'byCaseManager',
          KeyConditionExpression: page.startsFrom ? 'ownerKey = :owner AND startKey >= :from' : 'ownerKey = :owner',
          ExpressionAttributeValues: { ':owner': ownerKey, ...(page.startsFrom ? { ':from': page.startsFrom } : {}) },
          Limit: page.limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        };
      } else {
        const start = decodeCursor(page.cursor, { partition: 'org', partitionValue: org, sort: 'eventId' });
        input = {
          TableName: events,
          KeyConditionExpression: 'org = :org',
          // Flush markers are not events.
          FilterExpression: 'attribute_not_exists(flushOf)',
          ExpressionAttributeValues: { ':org': org },
          Limit: page.limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        };
      }
      const out = await db.send(new QueryCommand(input));
      return {
        items: (out.Items ?? []).map((i) => strip<CalendarEvent>(i, EVENT_KEYS)!),
        ...(out.LastEvaluatedKey ? { next: encodeCursor(out.LastEvaluatedKey) } : {}),
      };
    },
    async requestFlush(org, connectionId, at) {
      await db.send(
        new PutCommand({
          TableName: events,
          Item: {
            org,
            eventId: `${FLUSH_PREFIX}${connectionId}#${at.toISOString()}`,
            flushOf: connectionId,
            requestedAt: at.toISOString(),
            expiresAt: Math.floor(at.getTime() / 1000) + FLUSH_MARKER_SECONDS,
          },
        }),
      );
    },

    getConnection: (org, connectionId) => getSetting<CalendarConnection>(org, `connection#${connectionId}`),
    putConnection: (connection) =>
      putSetting(
        connection.org,
        `connection#${connection.connectionId}`,
        connection,
        connection.pausedUntil ? { pauseList: PAUSE_LIST } : {},
      ),
    listConnections: (org, page) => querySettings<CalendarConnection>(org, 'connection#', page.limit, page.cursor),

    putState: (state) => putSetting(state.org, `state#${state.state}`, state, { expiresAt: state.expiresAt }),
    async takeState(org, state, now) {
      const out = await db.send(
        new DeleteCommand({ TableName: settings, Key: { org, itemKey: `state#${state}` }, ReturnValues: 'ALL_OLD' }),
      );
      const kept = out.Attributes as AuthorizationState | undefined;
      // TTL deletes within days, not seconds: an expired state is refused here.
      if (!kept || kept.expiresAt * 1000 < now.getTime()) return undefined;
      return strip<AuthorizationState>(out.Attributes, ['itemKey']);
    },

    async getLink(org, connectionId, eventId) {
      const out = await db.send(
        new GetCommand({
          TableName: links,
          Key: { connKey: linkKey(org, connectionId), eventId },
          ConsistentRead: true,
        }),
      );
      return strip<CalendarLink>(out.Item, LINK_KEYS);
    },
    async putLink(link) {
      const parked = link.parked
        ? { parkedList: `${link.org}#parked`, parkedKey: `${link.parked.at}#${link.connectionId}#${link.eventId}` }
        : {};
      await db.send(
        new PutCommand({
          TableName: links,
          Item: { ...link, ...parked, connKey: linkKey(link.org, link.connectionId) },
        }),
      );
    },
    async deleteLink(org, connectionId, eventId) {
      await db.send(new DeleteCommand({ TableName: links, Key: { connKey: linkKey(org, connectionId), eventId } }));
    },
    async pendingLinks(org, connectionId) {
      const found: CalendarLink[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: links,
            KeyConditionExpression: 'connKey = :k',
            FilterExpression: 'pending = :true',
            ExpressionAttributeValues: { ':k': linkKey(org, connectionId), ':true': true },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) found.push(strip<CalendarLink>(item, LINK_KEYS)!);
        start = out.LastEvaluatedKey;
      } while (start);
      return found;
    },
    async listParked(org, page) {
      const parkedList = `${org}#parked`;
      const start = decodeIndexCursor(page.cursor, {
        parkedList,
        parkedKey: undefined,
        connKey: undefined,
        eventId: undefined,
      });
      if (start && !start.connKey!.startsWith(`${org}#`)) throw new InvalidCursor('of another list');
      const out = await db.send(
        new QueryCommand({
          TableName: links,
          IndexName: 'byParked',
          KeyConditionExpression: 'parkedList = :list',
          ExpressionAttributeValues: { ':list': parkedList },
          Limit: page.limit,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      return {
        items: (out.Items ?? []).map((i) => strip<CalendarLink>(i, LINK_KEYS)!),
        ...(out.LastEvaluatedKey ? { next: encodeCursor(out.LastEvaluatedKey) } : {}),
      };
    },
  };
}

/** The lapsed pauses of every organization, from the sparse byPause index, paged (LapsedPauses in store.ts). */
export function dynamoDbLapsedPauses(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): LapsedPauses {
  const settings = tableName('CalendarConnections', env);
  return {
    async *lapsed(now) {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: settings,
            IndexName: 'byPause',
            KeyConditionExpression: 'pauseList = :p AND pausedUntil <= :now',
            ExpressionAttributeValues: { ':p': PAUSE_LIST, ':now': now.toISOString() },
            ProjectionExpression: 'org, itemKey, pausedUntil',
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          const key = String(item.itemKey);
          if (!key.startsWith('connection#')) continue;
          yield {
            org: String(item.org),
            connectionId: key.slice('connection#'.length),
            pausedUntil: String(item.pausedUntil),
          };
        }
        start = out.LastEvaluatedKey;
      } while (start);
    },
  };
}
