import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { JobStore } from '../core/ports.ts';
import type { ImportJob } from '../core/transfer/jobs.ts';
import { tableName } from './aws-clients.ts';

export { putOrganization } from './dynamodb-organizations.ts';

/** Import jobs of an organization (Jobs table: org, jobId). */
export function dynamoDbJobs(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): JobStore {
  const table = options.table ?? tableName('Jobs', options.env);
  return {
    async importJobs(org) {
      const jobs: ImportJob[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'org = :org',
            ExpressionAttributeValues: { ':org': org },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) if (item.direction === 'import') jobs.push(item as ImportJob);
        start = out.LastEvaluatedKey;
      } while (start);
      return jobs;
    },
  };
}

/** Stores a job definition as a whole (the job is the unit a job editor saves), stamping createdAt/updatedAt. */
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
