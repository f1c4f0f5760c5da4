import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../core/pages.ts';
import type { ExportJobStore } from '../core/ports.ts';
import type { ExportJob } from '../core/transfer/export-jobs.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';

/** Optional parts of an export job definition: removed from the item when a save leaves them out. */
const OPTIONAL_ATTRIBUTES = ['filters', 'sensitiveFields'] as const;
/** Job ids sort below `~`; the launch guards of import jobs (`~launched#...`) come after them. */
const JOBS_END = '~';

/**
 * Export jobs in the Jobs table beside the import jobs (org, jobId; `direction: 'export'`). Every read and write is
 * keyed by the caller's organization. A save replaces the definition's attributes only: `lastExport`, which the
 * export engine keeps, and whatever other parts keep on the item (schedules), stay.
 */
export function dynamoDbExportJobs(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): ExportJobStore {
  const table = options.table ?? tableName('Jobs', options.env);
  return {
    async get(org, jobId) {
      const out = await db.send(new GetCommand({ TableName: table, Key: { org, jobId }, ConsistentRead: true }));
      return out.Item?.direction === 'export' ? (out.Item as ExportJob) : undefined;
    },

    async list(org, limit, cursor) {
      const out = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'org = :org AND jobId < :end',
          FilterExpression: 'direction = :export',
          ExpressionAttributeValues: { ':org': org, ':end': JOBS_END, ':export': 'export' },
          ConsistentRead: true,
          Limit: limit,
          ExclusiveStartKey: decodeCursor(cursor, { partition: 'org', partitionValue: org, sort: 'jobId' }),
        }),
      );
      return { items: (out.Items ?? []) as ExportJob[], next: encodeCursor(out.LastEvaluatedKey) };
    },

    async save(job, expectedRevision) {
      const { org, jobId, lastExport: _kept, ...definition } = job;
      const parts = updateParts(definition, {
        remove: OPTIONAL_ATTRIBUTES.filter((name) => definition[name] === undefined),
      });
      const names: Record<string, string> = { ...parts.ExpressionAttributeNames, '#jobId': 'jobId' };
      const values: Record<string, unknown> = { ...parts.ExpressionAttributeValues };
      let condition = 'attribute_not_exists(#jobId)';
      if (expectedRevision !== undefined) {
        names['#revision'] = 'revision';
        values[':expected'] = expectedRevision;
        condition = 'attribute_exists(#jobId) AND #revision = :expected';
      }
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org, jobId },
            UpdateExpression: parts.UpdateExpression,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
        return 'saved';
      } catch (err) {
        if (isConditionFailed(err)) return 'conflict';
        throw err;
      }
    },

    async markExported(org, jobId, progress) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org, jobId },
            UpdateExpression: 'SET #last = :progress',
            ConditionExpression: 'attribute_exists(#jobId) AND (attribute_not_exists(#last) OR #last.#mark < :mark)',
            ExpressionAttributeNames: { '#last': 'lastExport', '#mark': 'mark', '#jobId': 'jobId' },
            ExpressionAttributeValues: { ':progress': progress, ':mark': progress.mark },
          }),
        );
      } catch (err) {
        // A later export recorded a higher mark already (or the job was deleted): nothing to move.
        if (!isConditionFailed(err)) throw err;
      }
    },
  };
}

/** Stores an export job as a whole (seeding, tests). */
export async function putExportJob(
  db: DynamoDBDocumentClient,
  job: ExportJob,
  options: { env?: NodeJS.ProcessEnv; table?: string; now?: Date } = {},
): Promise<void> {
  const table = options.table ?? tableName('Jobs', options.env);
  const at = (options.now ?? new Date()).toISOString();
  await db.send(new PutCommand({ TableName: table, Item: { ...job, createdAt: job.createdAt ?? at, updatedAt: at } }));
}
