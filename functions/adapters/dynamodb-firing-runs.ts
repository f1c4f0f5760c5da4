import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { FiringRunLog } from '../core/ports.ts';
import type { FiringRun } from '../core/transfer/runs.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';
import { refusable } from './store-refusals.ts';

/** File names in a run's list are cut to this many characters (the list is capped: job-runs.ts MAX_FILES_PER_RUN). */
const MAX_NAME = 300;

function bounded(run: FiringRun): FiringRun {
  const cut = (s: string) => (s.length > MAX_NAME ? `${s.slice(0, MAX_NAME)}…` : s);
  return { ...run, files: run.files.map((f) => ({ ...f, key: cut(f.key), name: cut(f.name) })) };
}

/**
 * Scheduled and requested runs (job-runs.ts FiringRun) in the Runs table (org, runId), beside the per-file runs so
 * that the reports list both. `create` is a conditional put (a firing delivered twice creates one run); `save` an
 * UpdateItem, so attributes other parts add (comments, acknowledgement) stay.
 */
export function dynamoDbFiringRuns(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): FiringRunLog {
  const table = options.table ?? tableName('Runs', options.env);
  return {
    async get(org, runId) {
      const out = await db.send(new GetCommand({ TableName: table, Key: { org, runId }, ConsistentRead: true }));
      // A per-file run of that id (none should share it) is not a firing run.
      return Array.isArray(out.Item?.files) ? (out.Item as FiringRun) : undefined;
    },
    async create(run) {
      try {
        await db.send(
          new PutCommand({ TableName: table, Item: bounded(run), ConditionExpression: 'attribute_not_exists(runId)' }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },
    async save(run) {
      const { org, runId, ...attributes } = bounded(run);
      await refusable('the run', () =>
        db.send(new UpdateCommand({ TableName: table, Key: { org, runId }, ...updateParts(attributes) })),
      );
    },
  };
}
