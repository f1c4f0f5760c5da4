import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Outbox } from '../core/ports.ts';
import type { OutboxEntry } from '../core/transfer/notifications.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';

/** Outbox entries age out after this long (a sent event's key is kept far longer than any check looks back). */
const KEEP_SECONDS = 90 * 24 * 3600;

/**
 * The notifications outbox (Notifications table: org, eventKey). A claim is a conditional write: attempt 1 creates
 * the entry only if none exists; attempt n takes over only an unsent entry whose attempt is still n - 1. A sent entry
 * is never claimed again, so an event is e-mailed once however many passes see it.
 */
export function dynamoDbOutbox(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): Outbox {
  const table = tableName('Notifications', env);
  return {
    async get(org, eventKey) {
      const out = await db.send(new GetCommand({ TableName: table, Key: { org, eventKey }, ConsistentRead: true }));
      return out.Item as OutboxEntry | undefined;
    },

    async claim(entry) {
      const expiresAt = Math.floor(entry.leaseUntil / 1000) + KEEP_SECONDS;
      try {
        if (entry.attempt === 1) {
          await db.send(
            new PutCommand({
              TableName: table,
              Item: { ...entry, expiresAt },
              ConditionExpression: 'attribute_not_exists(eventKey)',
            }),
          );
        } else {
          await db.send(
            new UpdateCommand({
              TableName: table,
              Key: { org: entry.org, eventKey: entry.eventKey },
              UpdateExpression: 'SET attempt = :attempt, leaseUntil = :lease, expiresAt = :expires',
              ConditionExpression: '#status = :sending AND attempt = :previous',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':attempt': entry.attempt,
                ':previous': entry.attempt - 1,
                ':lease': entry.leaseUntil,
                ':expires': expiresAt,
                ':sending': 'sending',
              },
            }),
          );
        }
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
            UpdateExpression: `SET #status = :sent, sentAt = :at${providerId ? ', providerId = :id' : ''}`,
            ConditionExpression: 'attempt = :attempt',
            ExpressionAttributeNames: { '#status': 'status' },
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
