import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { tableName } from './aws-clients.ts';

/**
 * Read side of runs and their errors, for the API. Every query is keyed by the organization taken from the caller's
 * credentials, so one organization can never page into another's runs.
 */
export interface Page<T> {
  items: T[];
  next?: string;
}

export interface RunReports {
  listRuns(org: string, limit: number, cursor?: string): Promise<Page<Record<string, unknown>>>;
  getRun(org: string, runId: string): Promise<Record<string, unknown> | undefined>;
  listRunErrors(org: string, runId: string, limit: number, cursor?: string): Promise<Page<Record<string, unknown>>>;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

function decodeCursor(cursor: string | undefined, org: string, field: string): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  // A cursor is only an offset: it must not be a way to read another organization's partition.
  if (typeof key[field] !== 'string' || !(key[field] as string).startsWith(org)) throw new Error('invalid cursor');
  return key;
}

export function dynamoDbRunReports(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): RunReports {
  const runs = tableName('Runs', env);
  const errors = tableName('RunErrors', env);
  return {
    async listRuns(org, limit, cursor) {
      const out = await db.send(
        new QueryCommand({
          TableName: runs,
          KeyConditionExpression: 'org = :org',
          ExpressionAttributeValues: { ':org': org },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: decodeCursor(cursor, org, 'org'),
        }),
      );
      return { items: out.Items ?? [], next: encodeCursor(out.LastEvaluatedKey) };
    },
    async getRun(org, runId) {
      const out = await db.send(new GetCommand({ TableName: runs, Key: { org, runId } }));
      return out.Item;
    },
    async listRunErrors(org, runId, limit, cursor) {
      const orgRun = `${org}#${runId}`;
      const out = await db.send(
        new QueryCommand({
          TableName: errors,
          KeyConditionExpression: 'orgRun = :k',
          ExpressionAttributeValues: { ':k': orgRun },
          Limit: limit,
          ExclusiveStartKey: decodeCursor(cursor, orgRun, 'orgRun'),
        }),
      );
      return { items: out.Items ?? [], next: encodeCursor(out.LastEvaluatedKey) };
    },
  };
}
