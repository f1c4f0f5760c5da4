/**
 * The OrganizationData port on DynamoDB and S3: an organization's folders, what it still holds, and its erasure one
 * kind at a time (functions/core/organization-admin.ts runs the steps in order). Every step deletes by key what a
 * query or scan finds, so repeating one is harmless and a delete cut off midway resumes.
 *
 * Tables keyed by the organization (Jobs, Runs, Files, Notifications) are queried; RunErrors (`<org>#<run>`) and
 * Records (`<org>#…`) spread an organization over many partitions and are scanned with a begins_with filter: an
 * operator's rare, explicit erase, not a request path. In a versioned bucket the objects' older versions then expire
 * by the bucket's lifecycle (lib/aws/storage.ts, 90 days), as every deleted object's do.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type TableId, tableDefinition } from '../../schemas/tables.ts';
import type { OrganizationData } from '../core/ports.ts';
import { AREAS, areaPrefix } from '../core/transfer/layout.ts';
import { bucketName, tableName } from './aws-clients.ts';
import { backoff, chunks } from './dynamodb-expressions.ts';

type Step = Parameters<OrganizationData['erase']>[1];

/** Which table each step empties, and whether the organization is its whole partition key or its prefix. */
const TABLE_OF: Record<Exclude<Step, 'objects'>, { table: TableId; by: 'partition' | 'prefix' }> = {
  jobs: { table: 'Jobs', by: 'partition' },
  runs: { table: 'Runs', by: 'partition' },
  run_errors: { table: 'RunErrors', by: 'prefix' },
  files: { table: 'Files', by: 'partition' },
  notifications: { table: 'Notifications', by: 'partition' },
  records: { table: 'Records', by: 'prefix' },
};

export function organizationData(
  db: DynamoDBDocumentClient,
  s3: S3Client,
  options: { env?: NodeJS.ProcessEnv; bucket?: string } = {},
): OrganizationData {
  const env = options.env ?? process.env;
  const bucket = options.bucket ?? bucketName(env);

  /** Pages of the keys of the organization's items in a table (at most `limit` items when given). */
  async function* keysOf(id: TableId, by: 'partition' | 'prefix', org: string, limit?: number) {
    const def = tableDefinition(id);
    const pk = def.partitionKey.name;
    const names = [pk, ...(def.sortKey ? [def.sortKey.name] : [])];
    const projection = {
      ProjectionExpression: names.map((_, i) => `#k${i}`).join(', '),
      ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#k${i}`, n])),
    };
    let start: Record<string, unknown> | undefined;
    let seen = 0;
    do {
      const page =
        by === 'partition'
          ? await db.send(
              new QueryCommand({
                TableName: tableName(id, env),
                KeyConditionExpression: '#k0 = :org',
                ExpressionAttributeValues: { ':org': org },
                ...projection,
                ExclusiveStartKey: start,
                ...(limit ? { Limit: limit } : {}),
              }),
            )
          : await db.send(
              new ScanCommand({
                TableName: tableName(id, env),
                FilterExpression: 'begins_with(#k0, :prefix)',
                ExpressionAttributeValues: { ':prefix': `${org}#` },
                ...projection,
                ExclusiveStartKey: start,
              }),
            );
      const items = (page.Items ?? []) as Record<string, unknown>[];
      seen += items.length;
      if (items.length) yield items;
      start = page.LastEvaluatedKey;
      if (limit && seen >= limit) return;
    } while (start);
  }

  async function deleteKeys(id: TableId, keys: Record<string, unknown>[]): Promise<void> {
    for (const part of chunks(keys, 25)) {
      let pending = part.map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        const out = await db.send(new BatchWriteCommand({ RequestItems: { [tableName(id, env)]: pending } }));
        pending = (out.UnprocessedItems?.[tableName(id, env)] ?? []) as typeof pending;
        if (pending.length) await backoff(attempt);
      }
    }
  }

  /** The organization's objects under its three folders (the folder markers included), page by page. */
  async function* objectKeys(org: string, maxKeys?: number) {
    for (const area of AREAS) {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: areaPrefix(area, org),
            ContinuationToken: token,
            ...(maxKeys ? { MaxKeys: maxKeys } : {}),
          }),
        );
        const keys = (page.Contents ?? []).map((o) => o.Key!).filter(Boolean);
        if (keys.length) yield keys;
        token = page.IsTruncated && !maxKeys ? page.NextContinuationToken : undefined;
      } while (token);
    }
  }

  return {
    async createFolders(org) {
      for (const area of AREAS) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: areaPrefix(area, org), Body: '' }));
      }
    },
    async holdings(org) {
      const held: string[] = [];
      for (const [kind, id] of [
        ['jobs', 'Jobs'],
        ['runs', 'Runs'],
        ['files', 'Files'],
      ] as const) {
        for await (const _ of keysOf(id, 'partition', org, 1)) {
          held.push(kind);
          break;
        }
      }
      for await (const _ of keysOf('Records', 'prefix', org)) {
        held.push('records');
        break;
      }
      for await (const keys of objectKeys(org, 10)) {
        // The empty folder markers createFolders made are no data.
        if (keys.some((k) => !k.endsWith('/'))) {
          held.push('objects');
          break;
        }
      }
      return held;
    },
    async jobIds(org) {
      const ids: string[] = [];
      for await (const items of keysOf('Jobs', 'partition', org)) {
        for (const item of items) if (typeof item.jobId === 'string') ids.push(item.jobId);
      }
      return ids;
    },
    async erase(org, step) {
      if (step === 'objects') {
        for await (const keys of objectKeys(org)) {
          for (const part of chunks(keys, 1000)) {
            await s3.send(
              new DeleteObjectsCommand({
                Bucket: bucket,
                Delete: { Objects: part.map((Key) => ({ Key })), Quiet: true },
              }),
            );
          }
        }
        return;
      }
      const { table, by } = TABLE_OF[step];
      for await (const keys of keysOf(table, by, org)) await deleteKeys(table, keys);
    },
  };
}
