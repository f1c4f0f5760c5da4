import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PublishedEvents } from '../core/ports.ts';
import type { OutboxEntry } from '../core/transfer/notifications.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';

/** Entries age out after this long: far longer than any retry of a handler comes back. */
const KEEP_SECONDS = 30 * 24 * 3600;

/**
 * The integration events' outbox (table PublishedEvents: org, eventId), with the notifications outbox's rule
 * (core/transfer/notifications.ts outboxDecision): attempt 1 creates the entry only if none exists, attempt n takes
 * over only an unpublished entry whose attempt is still n - 1, and a published entry is never claimed again. Every
 * write is an UpdateItem (it creates the item when the condition allows), so the functions that publish hold
 * GetItem and UpdateItem on the table and nothing else.
 */
export function dynamoDbPublishedEvents(
  db: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv = process.env,
): PublishedEvents {
  const table = tableName('PublishedEvents', env);
  return {
    async get(org, eventId) {
      const out = await db.send(new GetCommand({ TableName: table, Key: { org, eventId }, ConsistentRead: true }));
      if (!out.Item) return undefined;
      const { eventId: key, ...rest } = out.Item;
      return { ...rest, eventKey: key } as OutboxEntry;
    },

    async claim(entry) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: entry.org, eventId: entry.eventKey },
            UpdateExpression: 'SET #status = :sending, attempt = :attempt, leaseUntil = :lease, expiresAt = :expires',
            ConditionExpression:
              entry.attempt === 1 ? 'attribute_not_exists(eventId)' : '#status = :sending AND attempt = :previous',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':sending': 'sending',
              ':attempt': entry.attempt,
              ':lease': entry.leaseUntil,
              ':expires': Math.floor(entry.leaseUntil / 1000) + KEEP_SECONDS,
              ...(entry.attempt === 1 ? {} : { ':previous': entry.attempt - 1 }),
            },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async markSent(org, eventId, attempt, at) {
      await db
        .send(
          new UpdateCommand({
            TableName: table,
            Key: { org, eventId },
            UpdateExpression: 'SET #status = :sent, sentAt = :at',
            ConditionExpression: 'attempt = :attempt',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':sent': 'sent', ':at': at, ':attempt': attempt },
          }),
        )
        .catch((err) => {
          // A later attempt took over (this one outlived its lease): that attempt marks it.
          if (!isConditionFailed(err)) throw err;
        });
    },
  };
}
