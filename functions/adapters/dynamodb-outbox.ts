import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Outbox } from '../core/ports.ts';
import type { OutboxEntry } from '../core/transfer/notifications.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';

/** Outbox entries age out after this long (a sent event's key is kept far longer than any check looks back). */
const KEEP_SECONDS = 90 * 24 * 3600;

/**
 * The sparse index of unsent entries (schemas/tables.ts Notifications): only an entry not yet sent carries `unsent`
 * (its organization), so the watch's retry reads the few unsent entries, not the organization's whole outbox.
 */
export const OUTBOX_UNSENT_INDEX = 'byUnsent';
export const UNSENT = 'unsent';

const asEntry = (item: Record<string, unknown>): OutboxEntry => {
  const { [UNSENT]: _u, expiresAt: _e, ...entry } = item;
  return entry as unknown as OutboxEntry;
};

/**
 * The notifications outbox (Notifications table: org, eventKey). An event is first recorded `pending` (attempt 0,
 * conditional on the key being new). A claim is a conditional write: attempt n takes over only an unsent entry whose
 * attempt is still n - 1 (attempt 1 may also create the entry: outboxes written before `pending` existed). A sent
 * entry is never claimed again, so an event is e-mailed once however many passes see it.
 */
export function dynamoDbOutbox(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): Outbox {
  const table = tableName('Notifications', env);
  return {
    async get(org, eventKey) {
      const out = await db.send(new GetCommand({ TableName: table, Key: { org, eventKey }, ConsistentRead: true }));
      return out.Item ? asEntry(out.Item) : undefined;
    },

    async enqueue(entry) {
      try {
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { ...entry, [UNSENT]: entry.org, expiresAt: Math.floor(Date.now() / 1000) + KEEP_SECONDS },
            ConditionExpression: 'attribute_not_exists(eventKey)',
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async *unsent(org) {
      const pages = paginateQuery(
        { client: db, pageSize: 100 },
        {
          TableName: table,
          IndexName: OUTBOX_UNSENT_INDEX,
          KeyConditionExpression: '#u = :org',
          ExpressionAttributeNames: { '#u': UNSENT },
          ExpressionAttributeValues: { ':org': org },
        },
      );
      for await (const page of pages) for (const item of page.Items ?? []) yield asEntry(item);
    },

    async claim(entry) {
      const expiresAt = Math.floor(entry.leaseUntil / 1000) + KEEP_SECONDS;
      const taken = '(#status <> :sent AND attempt = :previous)';
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: entry.org, eventKey: entry.eventKey },
            UpdateExpression:
              'SET #status = :sending, attempt = :attempt, leaseUntil = :lease, expiresAt = :expires, #u = :org',
            ConditionExpression: entry.attempt === 1 ? `attribute_not_exists(eventKey) OR ${taken}` : taken,
            ExpressionAttributeNames: { '#status': 'status', '#u': UNSENT },
            ExpressionAttributeValues: {
              ':attempt': entry.attempt,
              ':previous': entry.attempt - 1,
              ':lease': entry.leaseUntil,
              ':expires': expiresAt,
              ':sending': 'sending',
              ':sent': 'sent',
              ':org': entry.org,
            },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async markSent(org, eventKey, attempt, at, providerId) {
      await db
        .send(
          new UpdateCommand({
            TableName: table,
            Key: { org, eventKey },
            UpdateExpression: `SET #status = :sent, sentAt = :at${providerId ? ', providerId = :id' : ''} REMOVE #u`,
            ConditionExpression: 'attempt = :attempt',
            ExpressionAttributeNames: { '#status': 'status', '#u': UNSENT },
            ExpressionAttributeValues: {
              ':sent': 'sent',
              ':at': at,
              ':attempt': attempt,
              ...(providerId ? { ':id': providerId } : {}),
            },
          }),
        )
        .catch((err) => {
          // A later attempt took over (this one outlived its lease): that attempt marks it.
          if (!isConditionFailed(err)) throw err;
        });
    },
  };
}
