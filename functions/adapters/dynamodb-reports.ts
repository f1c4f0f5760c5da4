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

function decodeCursor(
  cursor: string | undefined,
  partition: string,
  field: string,
): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  let key: Record<string, unknown> | undefined;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    // Not ours: answered as an invalid cursor below, not as a server error.
  }
  // A cursor is only an offset: it must not be a way to read another organization's partition.
  if (key?.[field] !== partition) throw new Error('invalid cursor');
  return key;
}

export function dynamoDbRunReports(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): RunReports {
  const runs = tableName('Runs', env);
  const errors = tableName('RunErrors', env);
  /** One page of a partition, resumed from a cursor that must lie in that same partition. */
  const page = async (
    table: string,
    field: string,
    value: string,
    limit: number,
    cursor?: string,
    newestFirst = false,
  ) => {
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#k = :k',
        ExpressionAttributeNames: { '#k': field },
        ExpressionAttributeValues: { ':k': value },
        ScanIndexForward: !newestFirst,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor, value, field),
      }),
    );
    return { items: out.Items ?? [], next: encodeCursor(out.LastEvaluatedKey) };
  };
  return {
    listRuns: (org, limit, cursor) => page(runs, 'org', org, limit, cursor, true),
    async getRun(org, runId) {
      const out = await db.send(new GetCommand({ TableName: runs, Key: { org, runId } }));
      return out.Item;
    },
    listRunErrors: (org, runId, limit, cursor) => page(errors, 'orgRun', `${org}#${runId}`, limit, cursor),
  };
}
