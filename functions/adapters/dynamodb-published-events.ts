import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PublishedEvents } from '../core/ports.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';

/** Markers age out after this long: far longer than any retry of a handler comes back. */
const KEEP_SECONDS = 30 * 24 * 3600;
const MAX_READS = 5;

/**
 * The markers of published integration events (table PublishedEvents: org, eventId). Read with a consistent read,
 * so a retry right after a publication sees its marker; written with a conditional write, so the first marker of an id
 * stays (its time is when the fact first reached the bus).
 */
export function dynamoDbPublishedEvents(
  db: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv = process.env,
): PublishedEvents {
  const table = tableName('PublishedEvents', env);
  return {
    async published(org, eventIds) {
      const found = new Set<string>();
      let keys: Record<string, unknown>[] = [...new Set(eventIds)].map((eventId) => ({ org, eventId }));
      for (let attempt = 1; keys.length > 0; attempt++) {
        const out = await db.send(
          new BatchGetCommand({
            RequestItems: { [table]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'eventId' } },
          }),
        );
        for (const item of out.Responses?.[table] ?? []) found.add(String(item.eventId));
        keys = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
        if (keys.length > 0 && attempt >= MAX_READS) throw new Error('PublishedEvents: keys left unread');
        if (keys.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
      return found;
    },

    async markPublished(events, at) {
      for (const e of events) {
        try {
          // UpdateItem creates the marker (the functions that publish hold UpdateItem already, not PutItem).
          await db.send(
            new UpdateCommand({
              TableName: table,
              Key: { org: e.org, eventId: e.id },
              UpdateExpression: 'SET detailType = :type, publishedAt = :at, expiresAt = :expires',
              ConditionExpression: 'attribute_not_exists(eventId)',
              ExpressionAttributeValues: {
                ':type': e.detailType,
                ':at': at.toISOString(),
                ':expires': Math.floor(at.getTime() / 1000) + KEEP_SECONDS,
              },
            }),
          );
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
      }
    },
  };
}
