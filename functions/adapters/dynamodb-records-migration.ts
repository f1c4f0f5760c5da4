import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CHANGE_SEQUENCE_LEASE_MS, type ChangeSequence } from '../core/ports.ts';
import { orgEntityShard, PERSON_KEY, personOfChange } from '../core/transfer/records.ts';
import { tableName } from './aws-clients.ts';
import { dynamoDbChangeSequence, sequenceBlock } from './dynamodb-change-sequence.ts';
import { isConditionFailed, mapConcurrent } from './dynamodb-expressions.ts';

/** The migration's own item in the Records table: no `orgEntity`, so no index lists it. */
export const MIGRATION_PK = '~migration#recordsIndexShards';
/**
 * What the migration brings records to: 1, the sharded index and change sequence numbers; 2, also the byPerson key
 * (records.ts personOfKey). A table migrated to an earlier version is scanned again from its start.
 */
export const MIGRATION_VERSION = 2;

export interface MigrationReport {
  /** Items read by this call, and those it changed (re-keyed to their shard and/or stamped with a change sequence). */
  scanned: number;
  changed: number;
  /** True once the whole table has been migrated (this call or an earlier one). */
  done: boolean;
}

/**
 * Moves the Records items written before the index was sharded onto their shard (`orgEntity` = org#entity#<n>,
 * records.ts orgEntityShard), stamps a change sequence number on every record that has none (written before the
 * change sequence existed), so incremental exports see them too, and lists every record that names its person under
 * the byPerson index (`personOf`, written by every writer since), so an incremental export finds a changed person's
 * cases.
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
  const current = state?.version === MIGRATION_VERSION;
  if (current && state?.done === true) return { scanned: 0, changed: 0, done: true };
  // A table migrated to an earlier version starts over; one part way through this version resumes.
  let start = current ? (state?.lastKey as Record<string, unknown> | undefined) : undefined;
  let scanned = 0;
  let changed = 0;
  for (let page = 0; options.maxPages === undefined || page < options.maxPages; page++) {
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        Limit: options.pageSize ?? 500,
        ProjectionExpression: 'pk, org, entity, recordKey, orgEntity, changeSeq, personOf, #person',
        ExpressionAttributeNames: { '#person': PERSON_KEY },
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
        i.changeSeq === undefined ||
        i.personOf !== personOfOf(i),
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
      const personOf = personOfOf(i);
      const touchesPerson = personOf !== undefined || i.personOf !== undefined;
      const person = typeof i[PERSON_KEY] === 'string' ? (i[PERSON_KEY] as string) : undefined;
      const sets = ['#oe = :oe'];
      if (unnumbered) sets.push('#seq = if_not_exists(#seq, :seq)');
      if (personOf !== undefined) sets.push('#po = :po');
      const remove = personOf === undefined && i.personOf !== undefined ? ' REMOVE #po' : '';
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: i.pk },
            UpdateExpression: `SET ${sets.join(', ')}${remove}`,
            // Never recreate an item deleted since the page was read; never list it under a person it no longer names
            // (a writer changed the person meanwhile, and set the key itself).
            ConditionExpression: !touchesPerson
              ? 'attribute_exists(pk)'
              : person !== undefined
                ? 'attribute_exists(pk) AND #person = :person'
                : 'attribute_exists(pk) AND attribute_not_exists(#person)',
            ExpressionAttributeNames: {
              '#oe': 'orgEntity',
              ...(unnumbered ? { '#seq': 'changeSeq' } : {}),
              ...(touchesPerson ? { '#po': 'personOf', '#person': PERSON_KEY } : {}),
            },
            ExpressionAttributeValues: {
              ':oe': orgEntityShard(org, String(i.entity), String(i.recordKey)),
              ...(unnumbered ? { ':seq': await block!() } : {}),
              ...(personOf !== undefined ? { ':po': personOf } : {}),
              ...(touchesPerson && person !== undefined ? { ':person': person } : {}),
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
        Item: {
          pk: MIGRATION_PK,
          version: MIGRATION_VERSION,
          ...(start ? { lastKey: start } : {}),
          done: start === undefined,
        },
      }),
    );
    if (!start) return { scanned, changed, done: true };
  }
  return { scanned, changed, done: false };
}

/** The byPerson key a scanned record should carry (undefined: none). */
function personOfOf(item: Record<string, unknown>): string | undefined {
  const person = item[PERSON_KEY];
  const personOf = personOfChange(String(item.org), String(item.entity), {
    [PERSON_KEY]: typeof person === 'string' ? person : undefined,
  });
  return personOf ?? undefined;
}
