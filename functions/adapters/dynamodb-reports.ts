import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../core/pages.ts';
import type { RunReports } from '../core/ports.ts';
import { tableName } from './aws-clients.ts';

/**
 * Read side of runs and their errors, for the API (the RunReports port). Every query is keyed by the organization
 * taken from the caller's credentials, and a cursor must be exactly a key of the caller's own partition
 * (core/pages.ts), so one organization can never page into another's runs.
 */
export function dynamoDbRunReports(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): RunReports {
  const runs = tableName('Runs', env);
  const errors = tableName('RunErrors', env);
  /** One page of a partition, resumed from a cursor that must lie in that same partition. */
  const page = async (
    table: string,
    key: { partition: string; partitionValue: string; sort: string },
    limit: number,
    cursor?: string,
    newestFirst = false,
  ) => {
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#k = :k',
        ExpressionAttributeNames: { '#k': key.partition },
        ExpressionAttributeValues: { ':k': key.partitionValue },
        ScanIndexForward: !newestFirst,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor, key),
      }),
    );
    return { items: out.Items ?? [], next: encodeCursor(out.LastEvaluatedKey) };
  };
  return {
    listRuns: (org, limit, cursor) =>
      page(runs, { partition: 'org', partitionValue: org, sort: 'runId' }, limit, cursor, true),
    async getRun(org, runId) {
      const out = await db.send(new GetCommand({ TableName: runs, Key: { org, runId } }));
      return out.Item;
    },
    listRunErrors: (org, runId, limit, cursor) =>
      page(errors, { partition: 'orgRun', partitionValue: `${org}#${runId}`, sort: 'seq' }, limit, cursor),
  };
}
