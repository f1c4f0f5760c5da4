import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../core/pages.ts';
import type { ReportedRowError, RunReports } from '../core/ports.ts';
import { type Acknowledgement, MAX_COMMENTS, type Run } from '../core/transfer/runs.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';
import { LISTED_IN, RUNS_BY_LIST } from './dynamodb-runs.ts';

/**
 * The reports' side of runs for the API (the RunReports port of core/ports.ts). Every query is keyed by the
 * organization taken from the caller's credentials, and a cursor must be exactly a key of the caller's own list
 * (core/pages.ts), so one organization can never page into another's runs. The reports' lists come from the sparse
 * index `byList` that the run log's saves keep (dynamodb-runs.ts); notes are conditional updates of the run item, so a
 * comment or an acknowledgement never creates a run that does not exist.
 */
export function dynamoDbRunReports(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): RunReports {
  const runs = tableName('Runs', env);
  const errors = tableName('RunErrors', env);
  /** One page of a partition, resumed from a cursor that must lie in that same partition. */
  const page = async (
    query: { table: string; index?: string },
    key: { partition: string; partitionValue: string; sort: string; fixed?: Record<string, string> },
    limit: number,
    cursor?: string,
    newestFirst = false,
  ) => {
    const out = await db.send(
      new QueryCommand({
        TableName: query.table,
        ...(query.index ? { IndexName: query.index } : {}),
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
  const getRun = async (org: string, runId: string) => {
    const out = await db.send(new GetCommand({ TableName: runs, Key: { org, runId }, ConsistentRead: true }));
    return out.Item ? asRun(out.Item) : undefined;
  };
  const pageOfRuns = (p: { items: Record<string, unknown>[]; next?: string }) => ({
    items: p.items.map(asRun),
    ...(p.next ? { next: p.next } : {}),
  });
  return {
    listRuns: async (org, limit, cursor) =>
      pageOfRuns(
        await page({ table: runs }, { partition: 'org', partitionValue: org, sort: 'runId' }, limit, cursor, true),
      ),
    listView: async (org, view, limit, cursor) =>
      pageOfRuns(
        await page(
          { table: runs, index: RUNS_BY_LIST },
          { partition: LISTED_IN, partitionValue: `${org}#${view}`, sort: 'runId', fixed: { org } },
          limit,
          cursor,
          true,
        ),
      ),
    getRun,
    async listRunErrors(org, runId, limit, cursor) {
      const p = await page(
        { table: errors },
        { partition: 'orgRun', partitionValue: `${org}#${runId}`, sort: 'seq' },
        limit,
        cursor,
      );
      return {
        items: p.items.map(({ org: _o, orgRun: _k, ...rest }) => rest as ReportedRowError),
        ...(p.next ? { next: p.next } : {}),
      };
    },

    async addComment(org, runId, comment) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: runs,
            Key: { org, runId },
            UpdateExpression: 'SET comments = list_append(if_not_exists(comments, :none), :comment)',
            ConditionExpression:
              'attribute_exists(runId) AND (attribute_not_exists(comments) OR size(comments) < :max)',
            ExpressionAttributeValues: { ':none': [], ':comment': [comment], ':max': MAX_COMMENTS },
          }),
        );
        return 'added';
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        return (await getRun(org, runId)) ? 'full' : 'not_found';
      }
    },

    async acknowledge(org, runId, ack) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: runs,
            Key: { org, runId },
            UpdateExpression: 'SET acknowledged = :ack REMOVE #listed',
            ConditionExpression:
              'attribute_exists(runId) AND attribute_not_exists(acknowledged) AND #status IN (:interrupted, :incomplete)',
            ExpressionAttributeNames: { '#listed': LISTED_IN, '#status': 'status' },
            ExpressionAttributeValues: { ':ack': ack, ':interrupted': 'interrupted', ':incomplete': 'incomplete' },
          }),
        );
        return { result: 'acknowledged', acknowledged: ack };
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        const run = await getRun(org, runId);
        if (!run) return { result: 'not_found' };
        if (run.acknowledged) return { result: 'already', acknowledged: run.acknowledged as Acknowledgement };
        return { result: 'not_failed', status: run.status };
      }
    },
  };
}

/** The stored item as a run: the index attribute is the store's, not the run's. */
function asRun(item: Record<string, unknown>): Run {
  const { [LISTED_IN]: _listed, ...run } = item;
  return run as unknown as Run;
}
