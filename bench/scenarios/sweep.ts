/**
 * (h) the sweep over an inbound prefix of N objects (default 10,000), on real local parts: s3rver (with the twin's
 * object versions) and DynamoDB Local -inMemory, both started here. Setup, not timed: N objects written under
 * inbound/<org>/ of ten organizations, and ledger entries (Files table) for nine in ten of them; the rest are "lost"
 * (no event reached the import). Timed: one sweepInbound with the handler's adapters (ListObjectVersions pages,
 * BatchGetItem per organization and page), announcing to a counter rather than a queue, so the figure is the sweep's
 * own. Prints the result line measure() prints; `rows` are objects, so rows/s is objects/s.
 * The twin's ListObjectVersions walks all versions under the prefix for each page (a thousand objects at a time, since
 * s3rver opens the metadata of every object a listing returns at once), so the figure is the emulator's, not AWS's.
 * Usage: sweep.ts [N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbLedgerLookup } from '../../functions/adapters/dynamodb-ledger-lookup.ts';
import { s3ObjectListing } from '../../functions/adapters/s3-object-listing.ts';
import type { ObjectRef } from '../../functions/core/ports.ts';
import { fileIdOf } from '../../functions/core/transfer/receive-file.ts';
import { sweepInbound } from '../../functions/core/transfer/sweep.ts';
import { ensureTables, localDynamoDbClient, startDynamoDbLocal } from '../../lib/local/dynamodb-local.ts';
import { startLocalS3 } from '../../lib/local/s3-server.ts';
import { tables } from '../../schemas/tables.ts';
import { measure } from './measure.ts';

const objects = Number(process.argv[2] ?? 10_000);
const ORGS = Array.from({ length: 10 }, (_, i) => `bench${i}`);
const BODY = 'Employee ID,First Name,Last Name,Email\r\nE1,Ana,Silva,ana@example.com\r\n';

const dir = mkdtempSync(join(tmpdir(), 'integrator-bench-sweep-'));
const db = await startDynamoDbLocal();
const s3 = await startLocalS3({ directory: join(dir, 's3'), bucket: 'integrator-bench' });
try {
  await ensureTables(localDynamoDbClient(db.endpoint, db.region), tables, (t) => t.id);
  const config = { region: db.region, dynamodbEndpoint: db.endpoint, s3Endpoint: s3.endpoint };
  const s3client = s3Client(config);
  const documents = dynamoDbDocumentClient(config);

  process.stderr.write(`(h) writing ${objects.toLocaleString('en-US')} inbound objects and their ledger entries... `);
  const keys = Array.from({ length: objects }, (_, i) => {
    const day = String(1 + (i % 28)).padStart(2, '0');
    return `inbound/${ORGS[i % ORGS.length]}/batch-${String(i).padStart(6, '0')}/fn_profile_import_202611${day}.csv`;
  });
  const known: { org: string; fileId: string }[] = [];
  const concurrency = 16;
  for (let start = 0; start < keys.length; start += concurrency) {
    await Promise.all(
      keys.slice(start, start + concurrency).map(async (key, j) => {
        const out = await s3client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: BODY }));
        if ((start + j) % 10 === 0) return; // one in ten: its event was lost
        const org = key.split('/')[1]!;
        known.push({
          org,
          fileId: fileIdOf(key, { versionId: out.VersionId, etag: out.ETag ?? '', lastModified: new Date(0) }),
        });
      }),
    );
  }
  for (let i = 0; i < known.length; i += 25) {
    await documents.send(
      new BatchWriteCommand({
        RequestItems: {
          Files: known.slice(i, i + 25).map((k) => ({
            PutRequest: { Item: { ...k, status: 'done', leaseUntil: 0, claims: 1 } },
          })),
        },
      }),
    );
  }
  process.stderr.write('done\n');

  await measure(`(h) sweep of ${objects.toLocaleString('en-US')} inbound objects`, 0, async () => {
    const announced: ObjectRef[] = [];
    const report = await sweepInbound({
      inbound: s3ObjectListing(s3client, { bucket: s3.bucket }),
      ledger: dynamoDbLedgerLookup(documents, { table: 'Files' }),
      announce: async (o) => {
        announced.push(o);
      },
      clock: { now: () => new Date() },
      settleMs: 0,
    });
    const expected = objects - known.length;
    if (report.listed !== objects || announced.length !== expected || report.known !== known.length) {
      throw new Error(
        `the sweep listed ${report.listed} (expected ${objects}), knew ${report.known} (expected ${known.length}) and announced ${announced.length} (expected ${expected})`,
      );
    }
    return {
      rows: report.listed,
      notes: `objects/s = rows/s; ${report.known.toLocaleString('en-US')} known to the ledger, ${announced.length.toLocaleString('en-US')} lost and announced`,
    };
  });
} finally {
  await s3.stop();
  await db.stop();
  rmSync(dir, { recursive: true, force: true });
}
