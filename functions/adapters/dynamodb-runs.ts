import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ClaimingRunLog } from '../core/ports.ts';
import { boundRowError, boundRun } from '../core/transfer/item-bounds.ts';
import { errorSeq, onePerRow, type RowError, type Run, viewOf } from '../core/transfer/runs.ts';
import { tableName } from './aws-clients.ts';
import { backoff, chunks, isConditionFailed, MAX_BATCH_ATTEMPTS, updateParts } from './dynamodb-expressions.ts';
import { RANGE_ATTRIBUTES } from './dynamodb-run-ranges.ts';
import { refusable } from './store-refusals.ts';

export interface DynamoDbRunLogOptions {
  env?: NodeJS.ProcessEnv;
  runsTable?: string;
  errorsTable?: string;
}

/**
 * The Runs index attribute of the reports' lists and the run watch (schemas/tables.ts, index `byList`):
 * `<org>#needs-attention`, `<org>#completed`, or `running` for every organization's running runs.
 */
export const LISTED_IN = 'listedIn';
export const RUNS_BY_LIST = 'byList';
export const RUNNING_LIST = 'running';

/** The index value a run's save writes (Need Attention is decided in the write, against the acknowledgement). */
function listedIn(run: Run): string | undefined {
  const view = viewOf({ status: run.status });
  if (view === 'running') return RUNNING_LIST;
  if (view === 'completed') return `${run.org}#completed`;
  return view;
}

/** Run attributes that disappear when a run no longer has them (a finished run has no checkpoint). */
const CLEARED_WHEN_ABSENT = ['checkpoint'];

/**
 * Runs (org, runId) and their per-row errors in RunErrors (orgRun = org#runId, seq = zero-padded row number, so a
 * query lists them in file order). A run is written with UpdateItem so attributes other parts add (a comment, an
 * acknowledgement from the Need Attention report) survive the run's own updates. Every item is bounded before it is
 * written (item-bounds.ts: texts cut with a marker, lists capped), so none can exceed DynamoDB's 400 KB; a write the
 * store still refuses is a StoreRefusal (store-refusals.ts), never an error to retry.
 */
export function dynamoDbRunLog(db: DynamoDBDocumentClient, options: DynamoDbRunLogOptions = {}): ClaimingRunLog {
  const runs = options.runsTable ?? tableName('Runs', options.env);
  const errors = options.errorsTable ?? tableName('RunErrors', options.env);
  return {
    async save(run) {
      const { org, runId, comments: _c, acknowledged: _a, ...attributes } = boundRun(run);
      const list = listedIn(run);
      const write = (listed: string | undefined, unlessAcknowledged: boolean) =>
        refusable('the run', () =>
          db.send(
            new UpdateCommand({
              TableName: runs,
              Key: { org, runId },
              ...updateParts(
                { ...(attributes as Record<string, unknown>), [LISTED_IN]: listed },
                {
                  remove: [...CLEARED_WHEN_ABSENT, LISTED_IN],
                },
              ),
              ...(unlessAcknowledged ? { ConditionExpression: 'attribute_not_exists(acknowledged)' } : {}),
            }),
          ),
        );
      if (list !== 'needs-attention') return void (await write(list, false));
      // Listed in Need Attention only while nobody acknowledged it: the acknowledgement (dynamodb-reports.ts) removes
      // the listing in its own conditional write, so a late save of the same run never lists it again.
      try {
        await write(`${org}#needs-attention`, true);
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        await write(undefined, false);
      }
    },

    async get(org, runId) {
      const out = await db.send(new GetCommand({ TableName: runs, Key: { org, runId }, ConsistentRead: true }));
      if (!out.Item) return undefined;
      // The ranges' bookkeeping (dynamodb-run-ranges.ts) is no part of the run: a save of it must never write it back.
      const run = { ...out.Item };
      for (const name of RANGE_ATTRIBUTES) delete run[name];
      return run as Run;
    },

    async create(run) {
      // A new run (running, or ended at once): its first write, made conditional on there being none of its id.
      const { org, runId, comments: _c, acknowledged: _a, ...attributes } = boundRun(run);
      const listed = listedIn(run);
      try {
        await refusable('the run', () =>
          db.send(
            new UpdateCommand({
              TableName: runs,
              Key: { org, runId },
              ...updateParts(
                {
                  ...(attributes as Record<string, unknown>),
                  [LISTED_IN]: listed === 'needs-attention' ? `${org}#needs-attention` : listed,
                },
                { remove: [...CLEARED_WHEN_ABSENT, LISTED_IN] },
              ),
              ConditionExpression: 'attribute_not_exists(runId)',
            }),
          ),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async addErrors(org, runId, rowErrors) {
      const orgRun = `${org}#${runId}`;
      // One item per row: BatchWriteItem refuses a batch holding a key twice, and a row's problems must all stay.
      for (const part of chunks(onePerRow(rowErrors), 25)) {
        let requests: Record<string, unknown>[] = part.map((e) => ({
          PutRequest: { Item: errorItem(org, runId, orgRun, boundRowError(e)) },
        }));
        for (let attempt = 0; requests.length > 0; attempt++) {
          if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`RunErrors: ${requests.length} items stayed unprocessed`);
          if (attempt > 0) await backoff(attempt);
          const out = await refusable('row errors', () =>
            db.send(new BatchWriteCommand({ RequestItems: { [errors]: requests as never } })),
          );
          requests = (out.UnprocessedItems?.[errors] as Record<string, unknown>[] | undefined) ?? [];
        }
      }
    },

    async *errors(org, runId) {
      const pages = paginateQuery(
        { client: db, pageSize: 500 },
        {
          TableName: errors,
          KeyConditionExpression: 'orgRun = :k',
          ExpressionAttributeValues: { ':k': `${org}#${runId}` },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          yield {
            row: item.row as number,
            problems: item.problems as RowError['problems'],
            ...(item.values ? { values: item.values as string[] } : {}),
            ...(item.kept ? { kept: true } : {}),
          };
        }
      }
    },
  };
}

function errorItem(org: string, runId: string, orgRun: string, e: RowError): Record<string, unknown> {
  const first = e.problems[0];
  return {
    orgRun,
    seq: errorSeq(e.row),
    org,
    runId,
    row: e.row,
    // The first problem's fields at the top, for listing; all of them in `problems`.
    code: first?.code,
    message: first?.message,
    column: first?.column,
    value: first?.value,
    rule: first?.rule,
    problems: e.problems,
    ...(e.values ? { values: e.values } : {}),
    ...(e.kept ? { kept: true } : {}),
  };
}
