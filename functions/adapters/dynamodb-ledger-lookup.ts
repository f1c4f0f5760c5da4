import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LedgerLookup } from '../core/ports.ts';
import { tableName } from './aws-clients.ts';

/** BatchGetItem takes at most 100 keys. */
const BATCH = 100;
const MAX_ATTEMPTS = 8;

/**
 * Which ledger entries exist (ports.ts LedgerLookup), for the sweep: BatchGetItem on the Files table by (org, fileId),
 * projecting the key only. Unprocessed keys (throttling) are asked again with a growing pause; keys still unanswered
 * after that make the lookup fail, so the sweep never takes a file it could not look up for a lost one.
 */
export function dynamoDbLedgerLookup(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): LedgerLookup {
  const table = options.table ?? tableName('Files', options.env);
  return {
    async known(org, fileIds) {
      const found = new Set<string>();
      const unique = [...new Set(fileIds)];
      for (let i = 0; i < unique.length; i += BATCH) {
        let keys: Record<string, unknown>[] = unique.slice(i, i + BATCH).map((fileId) => ({ org, fileId }));
        for (let attempt = 1; keys.length > 0; attempt++) {
          if (attempt > MAX_ATTEMPTS) throw new Error(`the Files table left ${keys.length} keys unanswered`);
          if (attempt > 1) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
          const out = await db.send(
            new BatchGetCommand({
              RequestItems: {
                [table]: {
                  Keys: keys,
                  ProjectionExpression: '#org, #fileId',
                  ExpressionAttributeNames: { '#org': 'org', '#fileId': 'fileId' },
                },
              },
            }),
          );
          for (const item of out.Responses?.[table] ?? []) found.add(String(item.fileId));
          keys = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
        }
      }
      return found;
    },
  };
}
