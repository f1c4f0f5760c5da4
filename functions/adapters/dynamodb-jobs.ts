import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { JobRepository } from '../core/ports.ts';
import type { ImportJob } from '../core/transfer/jobs.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';

export { putOrganization } from './dynamodb-organizations.ts';

/** Optional parts of a job definition: removed from the item when a save leaves them out. */
const OPTIONAL_ATTRIBUTES = ['filters', 'customFields'] as const;

/**
 * Jobs of an organization (Jobs table: org, jobId): the import handler reads the launched ones, the API reads and
 * saves them one by one. Every read and write is keyed by the organization, so one organization cannot reach another's.
 */
export function dynamoDbJobs(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): JobRepository {
  const table = options.table ?? tableName('Jobs', options.env);
  return {
    async importJobs(org) {
      const jobs: ImportJob[] = [];
      const pages = paginateQuery(
        { client: db },
        {
          TableName: table,
          KeyConditionExpression: 'org = :org',
          ExpressionAttributeValues: { ':org': org },
          ConsistentRead: true,
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) if (item.direction === 'import') jobs.push(item as ImportJob);
      }
      return jobs;
    },

    async get(org, jobId) {
      const out = await db.send(new GetCommand({ TableName: table, Key: { org, jobId }, ConsistentRead: true }));
      return out.Item?.direction === 'import' ? (out.Item as ImportJob) : undefined;
    },

    async save(job, expectedRevision) {
      const { org, jobId, ...definition } = job;
      const parts = updateParts(definition, {
        remove: OPTIONAL_ATTRIBUTES.filter((name) => definition[name] === undefined),
      });
      const names: Record<string, string> = { ...parts.ExpressionAttributeNames, '#jobId': 'jobId' };
      const values: Record<string, unknown> = { ...parts.ExpressionAttributeValues };
      let condition: string;
      if (expectedRevision === undefined) {
        condition = 'attribute_not_exists(#jobId)';
      } else {
        names['#revision'] = 'revision';
        values[':expected'] = expectedRevision;
        condition =
          expectedRevision === 0
            ? 'attribute_exists(#jobId) AND (attribute_not_exists(#revision) OR #revision = :expected)'
            : 'attribute_exists(#jobId) AND #revision = :expected';
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
  };
}

/** Stores a job definition as a whole (seeding, tests), stamping createdAt/updatedAt. */
export async function putJob(
  db: DynamoDBDocumentClient,
  job: ImportJob,
  options: { env?: NodeJS.ProcessEnv; table?: string; now?: Date } = {},
): Promise<void> {
  const table = options.table ?? tableName('Jobs', options.env);
  const at = (options.now ?? new Date()).toISOString();
  await db.send(
    new PutCommand({
      TableName: table,
      Item: { ...job, createdAt: job.createdAt ?? at, updatedAt: at },
    }),
  );
}
