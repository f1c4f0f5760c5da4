import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from '../core/pages.ts';
import type { Job, JobRepository } from '../core/ports.ts';
import type { ImportJob } from '../core/transfer/jobs.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';

export { putOrganization } from './dynamodb-organizations.ts';

/**
 * Optional parts of a job definition of either direction: removed from the item when a save leaves them out (an
 * import job has no `sensitiveFields`, an export job no `customFields` or `processing`: removing is harmless).
 */
const OPTIONAL_ATTRIBUTES = [
  'filters',
  'customFields',
  'processing',
  'schedule',
  'paused',
  'contacts',
  'sensitiveFields',
] as const;

/**
 * The guard of "one launched job per direction and template": an item of the Jobs table, in the organization's
 * partition, whose sort key `~launched#<templateId>` sorts after every job id (job ids are letters, digits, - and _,
 * all below `~`), so job lists stop before the guards. It names the job that holds the template. Template ids are
 * unique across directions (templates.ts), so the template alone names the direction too.
 */
export const GUARD_PREFIX = '~launched#';
const JOBS_END = '~';

export function launchGuardKey(org: string, templateId: string): { org: string; jobId: string } {
  return { org, jobId: `${GUARD_PREFIX}${templateId}` };
}

/**
 * Jobs of an organization, import and export (Jobs table: org, jobId; `direction` tells them apart): the import
 * handler reads the import jobs, the API reads and saves jobs one by one, the export engine records its progress.
 * Every read and write is keyed by the organization, so one organization cannot reach another's.
 */
export function dynamoDbJobs(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): JobRepository {
  const table = options.table ?? tableName('Jobs', options.env);
  const all = async (org: string): Promise<Job[]> => {
    const jobs: Job[] = [];
    const pages = paginateQuery(
      { client: db },
      {
        TableName: table,
        KeyConditionExpression: 'org = :org AND jobId < :end',
        ExpressionAttributeValues: { ':org': org, ':end': JOBS_END },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) if (isJob(item)) jobs.push(item);
    return jobs;
  };
  return {
    all,

    async importJobs(org) {
      return (await all(org)).filter((job): job is ImportJob => job.direction === 'import');
    },

    async list(org, limit, cursor) {
      const out = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'org = :org AND jobId < :end',
          ExpressionAttributeValues: { ':org': org, ':end': JOBS_END },
          ConsistentRead: true,
          Limit: limit,
          ExclusiveStartKey: decodeCursor(cursor, { partition: 'org', partitionValue: org, sort: 'jobId' }),
        }),
      );
      const items = (out.Items ?? []).filter(isJob);
      return { items, next: encodeCursor(out.LastEvaluatedKey) };
    },

    async get(org, jobId) {
      const out = await db.send(new GetCommand({ TableName: table, Key: { org, jobId }, ConsistentRead: true }));
      return out.Item && isJob(out.Item) ? out.Item : undefined;
    },

    async save(job, expectedRevision, options = {}) {
      // An export job's progress is the engine's (markExported), never a save's: it stays as stored.
      const { org, jobId, ...all } = job;
      const { lastExport: _kept, ...definition } = all as typeof all & { lastExport?: unknown };
      const parts = updateParts(definition, {
        remove: OPTIONAL_ATTRIBUTES.filter((name) => (definition as Record<string, unknown>)[name] === undefined),
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
      const update = {
        TableName: table,
        Key: { org, jobId },
        UpdateExpression: parts.UpdateExpression,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      };
      const guard = guardWrite(table, job, options.releasesTemplate === true);
      if (!guard) {
        try {
          await db.send(new UpdateCommand(update));
          return 'saved';
        } catch (err) {
          if (isConditionFailed(err)) return 'conflict';
          throw err;
        }
      }
      try {
        await db.send(new TransactWriteCommand({ TransactItems: [{ Update: update }, guard] }));
        return 'saved';
      } catch (err) {
        const reasons = cancellationReasons(err);
        if (!reasons) throw err;
        if (reasons[0] === 'ConditionalCheckFailed') return 'conflict';
        if (reasons[1] === 'ConditionalCheckFailed') return 'template_taken';
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
            ConditionExpression:
              'attribute_exists(#jobId) AND #direction = :export AND (attribute_not_exists(#last) OR #last.#mark < :mark)',
            ExpressionAttributeNames: {
              '#last': 'lastExport',
              '#mark': 'mark',
              '#jobId': 'jobId',
              '#direction': 'direction',
            },
            ExpressionAttributeValues: { ':progress': progress, ':mark': progress.mark, ':export': 'export' },
          }),
        );
      } catch (err) {
        // A later export recorded a higher mark already (or the job was deleted): nothing to move.
        if (!isConditionFailed(err)) throw err;
      }
    },
  };
}

/** An item of the Jobs table that is a job (not a launch guard), of a direction this code knows. */
function isJob(item: Record<string, unknown> | Job): item is Job {
  return item.direction === 'import' || item.direction === 'export';
}

/**
 * The guard's part of a save: a launched job takes (or keeps) its template, unless another job holds it; a job going
 * back to draft gives it back (a guard it does not hold stays). Nothing for other drafts.
 */
function guardWrite(table: string, job: Job, releases: boolean) {
  const Key = launchGuardKey(job.org, job.templateId);
  const held = 'attribute_not_exists(#holder) OR #holder = :jobId';
  const names = { '#holder': 'holder' };
  const values = { ':jobId': job.jobId };
  if (job.status === 'launched') {
    return {
      Put: {
        TableName: table,
        Item: { ...Key, holder: job.jobId },
        ConditionExpression: held,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }
  if (!releases) return undefined;
  return {
    Delete: {
      TableName: table,
      Key,
      ConditionExpression: held,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
}

/** The per-item codes of a cancelled transaction ('None' for items that passed), or undefined for other errors. */
function cancellationReasons(err: unknown): string[] | undefined {
  const e = err as { name?: string; CancellationReasons?: { Code?: string }[] } | null;
  if (e?.name !== 'TransactionCanceledException' || !e.CancellationReasons) return undefined;
  return e.CancellationReasons.map((r) => r.Code ?? 'None');
}

/** Stores a job definition (either direction) as a whole (seeding, tests), stamping createdAt/updatedAt. */
export async function putJob(
  db: DynamoDBDocumentClient,
  job: Job,
  options: { env?: NodeJS.ProcessEnv; table?: string; now?: Date } = {},
): Promise<void> {
  const table = options.table ?? tableName('Jobs', options.env);
  const at = (options.now ?? new Date()).toISOString();
  const Item = { ...job, createdAt: job.createdAt ?? at, updatedAt: at };
  if (job.status !== 'launched') {
    await db.send(new PutCommand({ TableName: table, Item }));
    return;
  }
  // A launched job holds its template, as a launch through the API does (see save).
  await db.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: table, Item } },
        { Put: { TableName: table, Item: { ...launchGuardKey(job.org, job.templateId), holder: job.jobId } } },
      ],
    }),
  );
}
