/**
 * Billing on DynamoDB Local: the import engine reserves records against the organization's limit of the period its
 * batches are written in (functions/core/billing.ts, functions/adapters/dynamodb-organizations.ts), counted per
 * period and per job, and the Billing report reads the same counters.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { putOrganization } from '../../functions/adapters/dynamodb-jobs.ts';
import { dynamoDbBilling, readBillingUsage } from '../../functions/adapters/dynamodb-organizations.ts';
import { dynamoDbRecords } from '../../functions/adapters/dynamodb-records.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { importFile } from '../../functions/core/transfer/import-file.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { startRun } from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
before(async () => {
  parts = await startLocalParts();
  db = dynamoDbDocumentClient(parts.config);
});
after(() => parts.stop());

const template = templates.byId('fn_profile_import')!;

function csv(ids: string[], firstName = 'Ana'): string {
  return `Employee ID,First Name,Last Name,Email\r\n${ids.map((id) => `${id},${firstName},Silva,${id.toLowerCase()}@example.com`).join('\r\n')}\r\n`;
}

/** One import of `text` by job `jobId` of `org`, its batches written at `at`. */
async function importAt(org: string, jobId: string, runId: string, text: string, at: string) {
  const now = new Date(at);
  const deps = {
    openCsv,
    scratch: diskSortScratch(),
    records: dynamoDbRecords(db, { env: parts.env }),
    runLog: dynamoDbRunLog(db, { env: parts.env }),
    billing: dynamoDbBilling(db, { env: parts.env }),
    clock: { now: () => now },
    batchSize: 25,
  };
  const result = await importFile(deps, {
    run: startRun({
      org,
      runId,
      now,
      file: { key: `inbound/${org}/${runId}.csv`, name: 'f.csv', size: text.length, etag: '"e"' },
    }),
    job: defaultImportJob(org, 'fn_profile_import', jobId),
    template,
    source: async function* () {
      yield Buffer.from(text);
    },
    fileName: 'fn_profile_import_20261124.csv',
  });
  return result.run;
}

const usage = (org: string, period: string) => readBillingUsage(db, org, period, { env: parts.env });
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('two imports in one period add up, per job too; unchanged rows are free', async () => {
  await putOrganization(db, { id: 'bill-sum', name: 'Sum', allowedRecords: 1_000 }, { env: parts.env });
  const a = await importAt('bill-sum', 'job-a', 'r1', csv(ids('A', 60)), '2026-11-03T10:00:00Z');
  assert.equal(a.counts.created, 60);
  // 40 new rows and the first file's 60 again, 10 of them changed: 40 created + 10 updated billed, 50 unchanged free.
  const second = [...ids('B', 40), ...ids('A', 60)];
  const text = `Employee ID,First Name,Last Name,Email\r\n${second
    .map((id, i) => `${id},${i >= 40 && i < 50 ? 'Changed' : 'Ana'},Silva,${id.toLowerCase()}@example.com`)
    .join('\r\n')}\r\n`;
  const b = await importAt('bill-sum', 'job-b', 'r2', text, '2026-11-29T23:00:00Z');
  assert.deepEqual([b.counts.created, b.counts.updated, b.counts.unchanged], [40, 10, 50]);
  assert.deepEqual(await usage('bill-sum', '2026-11'), {
    period: '2026-11',
    periodStart: '2026-11-01T00:00:00.000Z',
    periodEnd: '2026-12-01T00:00:00.000Z',
    limit: 1_000,
    used: 110,
    unused: 890,
    jobs: [
      { jobId: 'job-a', records: 60 },
      { jobId: 'job-b', records: 50 },
    ],
  });
});

test('a new period starts at zero, the earlier one keeps its count; the limit is per period', async () => {
  await putOrganization(db, { id: 'bill-new', name: 'New', allowedRecords: 50 }, { env: parts.env });
  const nov = await importAt('bill-new', 'job-1', 'r1', csv(ids('N', 50)), '2026-11-30T23:59:59Z');
  assert.equal(nov.counts.created, 50);
  assert.equal((await usage('bill-new', '2026-11')).unused, 0);
  const dec0 = await usage('bill-new', '2026-12');
  assert.deepEqual([dec0.used, dec0.unused, dec0.jobs], [0, 50, []]);
  // One second later it is December (UTC): the full limit again, without any reset.
  const dec = await importAt('bill-new', 'job-1', 'r2', csv(ids('D', 30)), '2026-12-01T00:00:00Z');
  assert.deepEqual([dec.status, dec.counts.created, dec.counts.overLimit], ['completed', 30, 0]);
  assert.deepEqual([(await usage('bill-new', '2026-12')).used, (await usage('bill-new', '2026-11')).used], [30, 50]);
});

test('the limit refuses the rows over it (over_limit), the run Incomplete; the count stops at the limit', async () => {
  await putOrganization(db, { id: 'bill-cap', name: 'Cap', allowedRecords: 70 }, { env: parts.env });
  const run = await importAt('bill-cap', 'job-1', 'r1', csv(ids('C', 100)), '2026-11-10T08:00:00Z');
  assert.equal(run.status, 'incomplete');
  assert.deepEqual([run.counts.created, run.counts.overLimit], [70, 30]);
  const errors = [];
  for await (const e of dynamoDbRunLog(db, { env: parts.env }).errors('bill-cap', 'r1')) errors.push(e);
  assert.equal(errors.length, 30);
  assert.ok(errors.every((e) => e.problems.some((p) => p.code === 'over_limit')));
  const u = await usage('bill-cap', '2026-11');
  assert.deepEqual([u.used, u.unused, u.jobs], [70, 0, [{ jobId: 'job-1', records: 70 }]]);
  // Raising the limit does not reset what was used: the next import gets only the difference.
  await putOrganization(db, { id: 'bill-cap', name: 'Cap', allowedRecords: 80 }, { env: parts.env });
  const more = await importAt('bill-cap', 'job-1', 'r2', csv(ids('E', 20)), '2026-11-11T08:00:00Z');
  assert.deepEqual([more.counts.created, more.counts.overLimit], [10, 10]);
  assert.equal((await usage('bill-cap', '2026-11')).used, 80);
});
