import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ContactDirectory, RunWatchStore } from '../core/ports.ts';
import { activeSchedule, type SchedulableJob } from '../core/transfer/jobs.ts';
import type { MissedFiringDeps, ScheduledJob } from '../core/transfer/missed-firings.ts';
import type { LifeSigns } from '../core/transfer/run-watch.ts';
import type { Run } from '../core/transfer/runs.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';
import { LISTED_IN, RUNNING_LIST, RUNS_BY_LIST } from './dynamodb-runs.ts';

const asRun = (item: Record<string, unknown>): Run => {
  const { [LISTED_IN]: _l, ...run } = item;
  return run as unknown as Run;
};

/**
 * The run watch's reads and its one write (RunWatchStore): running runs of every organization from the Runs index
 * `byList` (partition `running`), the ledger entries of a run's files (Files: the entries under the file's key that
 * name this run), and the interrupt, conditional on the run being exactly the one read (still running, same
 * invocation count and checkpoint) so that a run that resumed or finished in between is never overwritten.
 */
export function dynamoDbRunWatch(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): RunWatchStore {
  const runs = tableName('Runs', env);
  const files = tableName('Files', env);
  const organizations = tableName('Organizations', env);
  return {
    async *runningRuns() {
      const pages = paginateQuery(
        { client: db, pageSize: 200 },
        {
          TableName: runs,
          IndexName: RUNS_BY_LIST,
          KeyConditionExpression: '#l = :running',
          ExpressionAttributeNames: { '#l': LISTED_IN },
          ExpressionAttributeValues: { ':running': RUNNING_LIST },
        },
      );
      for await (const page of pages) for (const item of page.Items ?? []) yield asRun(item);
    },

    async lifeSigns(run) {
      const keys = [
        ...new Set([run.file?.key, ...((run as { files?: { key?: string }[] }).files ?? []).map((f) => f.key)]),
      ].filter((k): k is string => typeof k === 'string');
      const signs: LifeSigns[] = [];
      for (const key of keys) {
        const out = await db.send(
          new QueryCommand({
            TableName: files,
            KeyConditionExpression: 'org = :org AND begins_with(fileId, :key)',
            ExpressionAttributeValues: { ':org': run.org, ':key': `${key}#` },
            ConsistentRead: true,
          }),
        );
        for (const item of out.Items ?? []) {
          if (item.runId !== run.runId) continue;
          signs.push({
            ...(typeof item.leaseUntil === 'number' ? { leaseUntil: item.leaseUntil } : {}),
            ...(typeof item.updatedAt === 'string' ? { updatedAt: Date.parse(item.updatedAt) } : {}),
          });
        }
      }
      return signs;
    },

    async interrupt(read, ended) {
      const values: Record<string, unknown> = {
        ':interrupted': 'interrupted',
        ':problem': ended.problem,
        ':message': ended.message,
        ':endedAt': ended.endedAt,
        ':running': 'running',
        ':attention': `${read.org}#needs-attention`,
      };
      const conditions = ['#status = :running', 'attribute_not_exists(acknowledged)'];
      if (read.invocations === undefined) conditions.push('attribute_not_exists(invocations)');
      else {
        conditions.push('invocations = :inv');
        values[':inv'] = read.invocations;
      }
      if (read.checkpoint) {
        conditions.push('checkpoint.#row = :row');
        values[':row'] = read.checkpoint.row;
      } else conditions.push('attribute_not_exists(checkpoint)');
      try {
        await db.send(
          new UpdateCommand({
            TableName: runs,
            Key: { org: read.org, runId: read.runId },
            UpdateExpression:
              'SET #status = :interrupted, problem = :problem, message = :message, endedAt = :endedAt, #l = :attention REMOVE checkpoint',
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: {
              '#status': 'status',
              '#l': LISTED_IN,
              ...(read.checkpoint ? { '#row': 'row' } : {}),
            },
            ExpressionAttributeValues: values,
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async organizations() {
      const ids: string[] = [];
      for await (const page of paginateScan(
        { client: db },
        { TableName: organizations, ProjectionExpression: 'org' },
      )) {
        for (const item of page.Items ?? []) if (typeof item.org === 'string') ids.push(item.org);
      }
      return ids;
    },

    async *failedSince(org, since) {
      // runIds start with the run's start time (runs.ts newRunId), so the index's sort key bounds the window.
      const from = since.toISOString().replace(/[-:.]/g, '');
      const pages = paginateQuery(
        { client: db, pageSize: 100 },
        {
          TableName: runs,
          IndexName: RUNS_BY_LIST,
          KeyConditionExpression: '#l = :list AND runId >= :from',
          ExpressionAttributeNames: { '#l': LISTED_IN },
          ExpressionAttributeValues: { ':list': `${org}#needs-attention`, ':from': from },
          ScanIndexForward: false,
        },
      );
      for await (const page of pages) for (const item of page.Items ?? []) yield asRun(item);
    },
  };
}

/**
 * Integration contacts: the job's `contacts` (Jobs item, set by the job editor) and the organization's
 * (Organizations item `contacts`), as stored; notifications.ts `recipients` picks the addresses.
 */
export function dynamoDbContacts(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): ContactDirectory {
  const jobs = tableName('Jobs', env);
  const organizations = tableName('Organizations', env);
  return {
    async contactsFor(org, jobId) {
      const [job, organization] = await Promise.all([
        jobId ? db.send(new GetCommand({ TableName: jobs, Key: { org, jobId } })) : undefined,
        db.send(new GetCommand({ TableName: organizations, Key: { org } })),
      ]);
      const list = (v: unknown) => (Array.isArray(v) ? v : []);
      const name = organization.Item?.name;
      return {
        jobContacts: list(job?.Item?.contacts),
        orgContacts: list(organization.Item?.contacts),
        ...(typeof name === 'string' ? { orgName: name } : {}),
      };
    },
  };
}

/**
 * The missed-firing check's reads (missed-firings.ts): the organization's launched, scheduled, unpaused jobs of both
 * directions (a Query of its Jobs partition: jobs are few), and whether the firing run of an id was recorded (GetItem on Runs,
 * its key only).
 */
export function dynamoDbMissedFirings(
  db: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv = process.env,
): MissedFiringDeps {
  const jobs = tableName('Jobs', env);
  const runs = tableName('Runs', env);
  return {
    jobs: {
      async scheduledJobs(org) {
        const found: ScheduledJob[] = [];
        const pages = paginateQuery(
          { client: db },
          { TableName: jobs, KeyConditionExpression: 'org = :org', ExpressionAttributeValues: { ':org': org } },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) {
            // Import and export jobs alike: a scheduled export that never fired is as missed as an import.
            const schedule = activeSchedule(item as SchedulableJob);
            if (!schedule || typeof item.jobId !== 'string') continue;
            found.push({
              org,
              jobId: item.jobId,
              schedule,
              ...(typeof item.name === 'string' ? { name: item.name } : {}),
              ...(typeof item.updatedAt === 'string' ? { since: item.updatedAt } : {}),
            });
          }
        }
        return found;
      },
    },
    firings: {
      async has(org, runId) {
        const out = await db.send(
          new GetCommand({ TableName: runs, Key: { org, runId }, ProjectionExpression: 'runId', ConsistentRead: true }),
        );
        return out.Item !== undefined;
      },
    },
  };
}
