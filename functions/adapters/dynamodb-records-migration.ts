import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CHANGE_SEQUENCE_LEASE_MS, type ChangeSequence } from '../core/ports.ts';
import { orgEntityShard } from '../core/transfer/records.ts';
import { tableName } from './aws-clients.ts';
import { dynamoDbChangeSequence, sequenceBlock } from './dynamodb-change-sequence.ts';
import { isConditionFailed, mapConcurrent } from './dynamodb-expressions.ts';

/** The migration's own item in the Records table: no `orgEntity`, so no index lists it. */
export const MIGRATION_PK = '~migration#recordsIndexShards';

export interface MigrationReport {
  /** Items read by this call, and those it changed (re-keyed to their shard and/or stamped with a change sequence). */
  scanned: number;
  changed: number;
  /** True once the whole table has been migrated (this call or an earlier one). */
  done: boolean;
}

/**
 * Moves the Records items written before the index was sharded onto their shard (`orgEntity` = org#entity#<n>,
 * records.ts orgEntityShard) and stamps a change sequence number on every record that has none (written before the
 * change sequence existed), so incremental exports see them too.
 *
 * Resumable: a Scan in pages, the position after each page kept in the migration's item (MIGRATION_PK), so a call
 * that stops (a crash, `maxPages`) resumes where it was; each item's update is idempotent (the shard follows from the
 * item's own key; `changeSeq` is set only where it is missing), so a page done twice changes nothing the second time.
 * Writers running meanwhile already write the sharded key, so the migration can run beside them.
 */
export async function migrateRecordsIndex(
  db: DynamoDBDocumentClient,
  options: {
    env?: NodeJS.ProcessEnv;
    table?: string;
    sequence?: ChangeSequence;
    pageSize?: number;
    /** Stop after this many pages (the rest on the next call). */
    maxPages?: number;
  } = {},
): Promise<MigrationReport> {
  const table = options.table ?? tableName('Records', options.env);
  const sequence = options.sequence ?? dynamoDbChangeSequence(db, { table });
  const state = (await db.send(new GetCommand({ TableName: table, Key: { pk: MIGRATION_PK }, ConsistentRead: true })))
    .Item;
  if (state?.done === true) return { scanned: 0, changed: 0, done: true };
  let start = state?.lastKey as Record<string, unknown> | undefined;
  let scanned = 0;
  let changed = 0;
  for (let page = 0; options.maxPages === undefined || page < options.maxPages; page++) {
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        Limit: options.pageSize ?? 500,
        ProjectionExpression: 'pk, org, entity, recordKey, orgEntity, changeSeq',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (out.Items ?? []).filter(
      (i) => typeof i.org === 'string' && typeof i.entity === 'string' && typeof i.recordKey === 'string',
    );
    scanned += out.Items?.length ?? 0;
    const stale = items.filter(
      (i) =>
        i.orgEntity !== orgEntityShard(String(i.org), String(i.entity), String(i.recordKey)) ||
        i.changeSeq === undefined,
    );
    const blocks = new Map<string, () => Promise<number>>();
    await mapConcurrent(stale, 16, async (i) => {
      const org = String(i.org);
      const unnumbered = i.changeSeq === undefined;
      let block = blocks.get(org);
      if (unnumbered && !block) {
        const count = stale.filter((s) => s.org === org && s.changeSeq === undefined).length;
        block = sequenceBlock(sequence, org, count, CHANGE_SEQUENCE_LEASE_MS);
        blocks.set(org, block);
      }
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: i.pk },
            UpdateExpression: unnumbered ? 'SET #oe = :oe, #seq = if_not_exists(#seq, :seq)' : 'SET #oe = :oe',
            // Never recreate an item deleted since the page was read.
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#oe': 'orgEntity', ...(unnumbered ? { '#seq': 'changeSeq' } : {}) },
            ExpressionAttributeValues: {
              ':oe': orgEntityShard(org, String(i.entity), String(i.recordKey)),
              ...(unnumbered ? { ':seq': await block!() } : {}),
            },
          }),
        );
        changed++;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
    });
    start = out.LastEvaluatedKey;
    await db.send(
      new PutCommand({
        TableName: table,
        Item: { pk: MIGRATION_PK, ...(start ? { lastKey: start } : {}), done: start === undefined },
      }),
    );
    if (!start) return { scanned, changed, done: true };
  }
  return { scanned, changed, done: false };
}
