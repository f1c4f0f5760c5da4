import { type AttributeValue, BatchExecuteStatementCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CHANGE_SEQUENCE_LEASE_MS,
  type ChangeSequence,
  type RecordStore,
  type RecordWrite,
  type StoredRecordState,
  type WriteResult,
} from '../core/ports.ts';
import { StoreRefusal } from '../core/problems.ts';
import { orgEntityShard, personOfChange, recordPk, refusedWrite } from '../core/transfer/records.ts';
import { tableName } from './aws-clients.ts';
import { dynamoDbChangeSequence, sequenceBlock } from './dynamodb-change-sequence.ts';
import { backoff, chunks, MAX_BATCH_ATTEMPTS, mapConcurrent } from './dynamodb-expressions.ts';
import { asStoreRefusal } from './store-refusals.ts';

/** Request counts, for tests and benchmarks ("unchanged rows cost no write"). */
export interface RecordStoreStats {
  batchGets: number;
  /** Write statements sent (a statement resent after a throttle or a lost race counts again). */
  updates: number;
  conditionFailures: number;
  /** BatchExecuteStatement requests sent, and statements that came back throttled (retried by the store). */
  batches?: number;
  throttled?: number;
}

export interface DynamoDbRecordsOptions {
  env?: NodeJS.ProcessEnv;
  table?: string;
  /** BatchExecuteStatement requests (of up to 25 statements) in flight per `apply`. */
  concurrency?: number;
  stats?: RecordStoreStats;
  /** The organization's change sequence (default: the counter in this table). */
  sequence?: ChangeSequence;
}

/** Statements per BatchExecuteStatement request: DynamoDB's maximum. */
const STATEMENTS_PER_REQUEST = 25;
/** The largest block of change sequence numbers one reservation takes (blocks start at one batch and double). */
const SEQUENCE_BLOCK_MAX = 4096;

/**
 * Imported records in the Records table (pk = org#entity#key; the sharded index key `orgEntity` =
 * org#entity#<shard>, records.ts orgEntityShard, lists an organization's records).
 *
 * Reads: BatchGetItem of the hash only (100 keys per call, unprocessed keys retried with backoff).
 * Writes: PartiQL BatchExecuteStatement, 25 statements a request, several requests in flight (chosen by measurement:
 * bench/scenarios/import-primitives.ts; one write unit a row and an answer per statement, where TransactWriteItems
 * costs two and one refused row cancels its 99 neighbours). Never a whole-item put of an existing record: a record the
 * engine's read found is changed by `UPDATE ... SET <mapped fields> REMOVE <mapped fields left empty>`, which keeps
 * the attributes other parts of the system own; a record it did not find is created by `INSERT` (of the mapped fields
 * and the bookkeeping attributes only). Every statement is conditional, and what it did is read from its own answer:
 * - INSERT fails with DuplicateItem when the record exists: a row that lost the race to a concurrent writer is resent
 *   as an UPDATE (preference "create only": refused);
 * - UPDATE holds the preference (it never creates: the record must exist), the content (the record must not already
 *   hold this hash: then nothing is written, `unchanged`) and the arrival order (a record written from a file of the
 *   same lane that arrived later, a higher `importSeq`, is not overwritten: `superseded`); a row whose record vanished
 *   is resent as an INSERT (preference "update only": refused);
 * - a throttled statement (inside a 200 answer) is resent with backoff, as the SDK does for whole requests;
 * - a refused statement is judged from the stored record (the item the answer carries in AWS, else one consistent
 *   BatchGetItem of the refused keys): a condition failure on a resend of a write that had succeeded after all (this
 *   run's hash is stored) is what the write did, not an error (records.ts refusedWrite).
 * Every write stamps `changeSeq`, the organization's next change sequence number, which the export's incremental reads
 * compare with their mark. The store keeps one block of numbers per organization across `apply` calls, used for at
 * most CHANGE_SEQUENCE_LEASE_MS and doubling with each reservation up to SEQUENCE_BLOCK_MAX: one atomic ADD every
 * few thousand writes, not one per batch (the export's rule, ports.ts ChangeSequence, holds: a number is written
 * within the lease of its reservation).
 *
 * Per-row cost (Node CPU is what bounds one Lambda, issue 13): a statement's text depends only on its form and field
 * names, so it is built once per such shape and reused (STATEMENT_CACHE_SIZE shapes); parameters are sent as
 * DynamoDB attribute values built here (strings and numbers only) rather than marshalled by the DocumentClient.
 */
export function dynamoDbRecords(db: DynamoDBDocumentClient, options: DynamoDbRecordsOptions = {}): RecordStore {
  const table = options.table ?? tableName('Records', options.env);
  const concurrency = options.concurrency ?? 8;
  const stats = options.stats;
  const sequence = options.sequence ?? dynamoDbChangeSequence(db, { table });
  // One open block per organization, shared by every `apply` of this store (sequenceBlock serializes its refills).
  const blocks = new Map<string, () => Promise<number>>();
  const statements = statementBuilder(table);
  return {
    async current(org, entity, recordKeys) {
      const found = new Map<string, StoredRecordState>();
      const prefix = `${org}#${entity}#`;
      for (const [pk, item] of await readStates(
        db,
        table,
        [...new Set(recordKeys)].map((k) => recordPk(org, entity, k)),
        false,
        stats,
      )) {
        found.set(pk.slice(prefix.length), storedState(item));
      }
      return found;
    },

    apply(writes) {
      const nextSeq = (org: string) => {
        let block = blocks.get(org);
        if (!block) {
          const count = writes.filter((w) => w.org === org && !w.touch).length;
          block = sequenceBlock(sequence, org, count, CHANGE_SEQUENCE_LEASE_MS, Date.now, SEQUENCE_BLOCK_MAX);
          blocks.set(org, block);
        }
        return block();
      };
      return applyStatements(db, writes, { concurrency, stats, nextSeq, statements });
    },
  };
}

type Form = 'insert' | 'update' | 'touch';

interface Attempt {
  index: number;
  w: RecordWrite;
  pk: string;
  form: Form;
  /** The change sequence numbers this call sent the write with: a refusal that finds one stored met its own write. */
  sent?: number[];
}

/** DynamoDB's per-statement error codes that a resend can get past (the throttles of a 200 answer). */
const RETRYABLE = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
  'InternalServerError',
  'TransactionConflict',
]);

async function applyStatements(
  db: DynamoDBDocumentClient,
  writes: readonly RecordWrite[],
  ctx: {
    concurrency: number;
    stats: RecordStoreStats | undefined;
    nextSeq: (org: string) => Promise<number>;
    statements: StatementBuilder;
  },
): Promise<WriteResult[]> {
  const table = ctx.statements.table;
  const { stats } = ctx;
  const results = new Array<WriteResult>(writes.length);
  let queue: Attempt[] = writes.map((w, index) => ({
    index,
    w,
    pk: recordPk(w.org, w.entity, w.recordKey),
    form: w.touch && w.arrival ? 'touch' : firstForm(w),
  }));
  let throttledRounds = 0;
  let races = 0;
  while (queue.length > 0) {
    // One statement per record in a request (DynamoDB refuses a request naming an item twice): repeats wait a round.
    const seen = new Set<string>();
    const now: Attempt[] = [];
    const next: Attempt[] = [];
    for (const a of queue) {
      if (seen.has(a.pk)) next.push(a);
      else {
        seen.add(a.pk);
        now.push(a);
      }
    }
    const judge: { a: Attempt; item?: Record<string, unknown> }[] = [];
    let throttled = false;
    await mapConcurrent(chunks(now, STATEMENTS_PER_REQUEST), ctx.concurrency, async (part) => {
      const statements = await Promise.all(part.map((a) => ctx.statements.of(a, ctx.nextSeq)));
      if (stats) {
        stats.updates += part.length;
        stats.batches = (stats.batches ?? 0) + 1;
      }
      let responses: { Error?: { Code?: string; Message?: string; Item?: Record<string, AttributeValue> } }[];
      try {
        responses = (await db.send(new BatchExecuteStatementCommand({ Statements: statements }))).Responses ?? [];
      } catch (err) {
        throw asStoreRefusal(err, `the records of rows ${part[0]!.w.row}-${part.at(-1)!.w.row}`);
      }
      part.forEach((a, i) => {
        const error = responses[i]?.Error;
        if (!error) {
          results[a.index] =
            a.form === 'touch'
              ? { effect: 'unchanged', wrote: false }
              : { effect: a.form === 'insert' ? 'created' : 'updated', wrote: true };
          return;
        }
        const code = String(error.Code ?? '');
        if (RETRYABLE.has(code)) {
          throttled = true;
          if (stats) stats.throttled = (stats.throttled ?? 0) + 1;
          next.push(a);
          return;
        }
        if (code === 'ConditionalCheckFailed' || code === 'DuplicateItem') {
          if (stats) stats.conditionFailures++;
          if (a.form === 'touch') {
            // The content changed, or a newer number is stored: nothing to do either way.
            results[a.index] = { effect: 'unchanged', wrote: false };
          } else if (code === 'DuplicateItem' && a.w.condition === 'none') {
            races++;
            next.push({ ...a, form: 'update' });
          } else {
            const item = plainAttributes(error.Item);
            judge.push({ a, ...(item && Object.keys(item).length > 0 ? { item } : {}) });
          }
          return;
        }
        if (code === 'ValidationError') {
          throw new StoreRefusal({
            code: 'store_refused',
            message: `the store refused to record the record of row ${a.w.row}: ${String(error.Message ?? code).slice(0, 300)}`,
            rule: 'a DynamoDB item holds at most 400 KB',
          });
        }
        throw new Error(`Records: row ${a.w.row}: ${code}: ${String(error.Message ?? '')}`);
      });
    });
    if (judge.length > 0) {
      const unknown = judge.filter((j) => !j.item).map((j) => j.a.pk);
      const stored = unknown.length > 0 ? await readStates(db, table, unknown, true, stats) : new Map();
      for (const { a, item } of judge) {
        const old = item ?? stored.get(a.pk);
        if (!old) {
          // No record: an UPDATE found none (it vanished since the engine's read), or an INSERT raced a delete.
          if (a.w.condition === 'none') {
            races++;
            next.push({ ...a, form: a.form === 'insert' ? 'update' : 'insert' });
          } else results[a.index] = refusedWrite(a.w, undefined);
          continue;
        }
        const judged = refusedWrite(a.w, refusedState(old));
        // A resend (after a throttle whose statement had been applied after all) refused by its own earlier write:
        // this call wrote the record, so it is counted and billed as written.
        const own = typeof old.changeSeq === 'number' && (a.sent ?? []).includes(old.changeSeq);
        results[a.index] = own && judged.effect !== 'unchanged' ? { ...judged, wrote: true } : judged;
      }
    }
    if (throttled) {
      throttledRounds++;
      if (throttledRounds >= MAX_BATCH_ATTEMPTS) throw new Error(`Records: ${next.length} writes stayed throttled`);
      await backoff(throttledRounds);
    }
    // A record created and deleted again and again between our statements: give up rather than loop.
    if (races > writes.length * MAX_BATCH_ATTEMPTS) throw new Error('Records: writes keep losing races');
    queue = next;
  }
  return results;
}

/** The form a write is sent in first: what the engine's read found, else create (an update never creates). */
function firstForm(w: RecordWrite): Form {
  if (w.condition === 'must_exist') return 'update';
  if (w.condition === 'must_not_exist') return 'insert';
  return w.exists ? 'update' : 'insert';
}

/** Attribute names go into statements as quoted identifiers: field ids are plain names (custom-fields.ts CUSTOM_ID). */
function quoted(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`${name} cannot name a record attribute`);
  return `"${name}"`;
}

interface Statement {
  Statement: string;
  Parameters: AttributeValue[];
  ReturnValuesOnConditionCheckFailure?: 'ALL_OLD';
}

interface StatementBuilder {
  table: string;
  of(a: Attempt, nextSeq: (org: string) => Promise<number>): Promise<Statement>;
}

/** Statement texts kept per shape (form, field names, removed names, arrival guard): a file has a handful. */
const STATEMENT_CACHE_SIZE = 256;

/** A string or number parameter as a DynamoDB attribute value (the only kinds the import writes). */
function attribute(value: string | number): AttributeValue {
  return typeof value === 'number' ? { N: String(value) } : { S: value };
}

/**
 * The statements of one table. Each parameter list follows the names of its text: the mapped fields in the row's
 * order, then the bookkeeping attributes, so rows of the same shape share one text.
 */
function statementBuilder(tableId: string): StatementBuilder {
  const table = tableId;
  const t = quoted(table.replace(/[^A-Za-z0-9_.-]/g, ''));
  const texts = new Map<string, string>();
  const cached = (key: string, build: () => string): string => {
    let text = texts.get(key);
    if (text === undefined) {
      if (texts.size >= STATEMENT_CACHE_SIZE) texts.clear();
      text = build();
      texts.set(key, text);
    }
    return text;
  };
  const touch = `UPDATE ${t} SET "${LANE}" = ? SET "${SEQ}" = ? WHERE "pk" = ? AND "${HASH}" = ? AND ("${SEQ}" IS MISSING OR "${LANE}" <> ? OR "${SEQ}" < ?)`;
  return {
    table,
    async of(a, nextSeq) {
      const { w } = a;
      if (a.form === 'touch') {
        const { lane, seq } = w.arrival!;
        return {
          Statement: touch,
          Parameters: [
            attribute(lane),
            attribute(seq),
            attribute(a.pk),
            attribute(w.hash),
            attribute(lane),
            attribute(seq),
          ],
        };
      }
      const changeSeq = await nextSeq(w.org);
      a.sent = a.sent ? [...a.sent, changeSeq] : [changeSeq];
      // The mapped fields, minus any that would shadow a bookkeeping attribute (those are set below).
      const fieldNames: string[] = [];
      const parameters: AttributeValue[] = [];
      for (const name in w.set) {
        const value = w.set[name];
        if (value === undefined || BOOKKEEPING.has(name)) continue;
        fieldNames.push(name);
        parameters.push({ S: value });
      }
      // A record naming its person (a passport's employeeId) is listed under that person (records.ts personOfKey).
      const person = personOfChange(w.org, w.entity, w.set, w.remove);
      if (person) {
        fieldNames.push('personOf');
        parameters.push({ S: person });
      }
      parameters.push(
        attribute(w.org),
        attribute(w.entity),
        attribute(orgEntityShard(w.org, w.entity, w.recordKey)),
        attribute(w.recordKey),
        attribute(w.hash),
        attribute(w.templateId),
        attribute(w.runId),
        attribute(w.row),
        attribute(w.at),
        attribute(changeSeq),
      );
      if (w.arrival) parameters.push(attribute(w.arrival.lane), attribute(w.arrival.seq));
      const shape = `${fieldNames.join(',')}|${w.arrival ? 'a' : ''}`;
      if (a.form === 'insert') {
        parameters.unshift(attribute(a.pk));
        parameters.push(attribute(w.at), attribute(w.runId));
        const text = cached(`i|${shape}`, () => {
          const names = [...fieldNames, ...bookkeepingNames(w.arrival !== undefined), 'createdAt', CREATED_RUN];
          return `INSERT INTO ${t} VALUE {'pk': ?, ${names.map((n) => `'${quoted(n).slice(1, -1)}': ?`).join(', ')}}`;
        });
        return { Statement: text, Parameters: parameters };
      }
      const removes = w.remove.filter((n) => w.set[n] === undefined && !BOOKKEEPING.has(n));
      if (person === null) removes.push('personOf');
      parameters.push(attribute(a.pk), attribute(w.hash));
      if (w.arrival) parameters.push(attribute(w.arrival.lane), attribute(w.arrival.seq));
      const text = cached(`u|${shape}|${removes.join(',')}`, () => {
        const names = [...fieldNames, ...bookkeepingNames(w.arrival !== undefined)];
        const conditions = [`("${HASH}" IS MISSING OR "${HASH}" <> ?)`];
        if (w.arrival) conditions.push(`("${SEQ}" IS MISSING OR "${LANE}" <> ? OR "${SEQ}" <= ?)`);
        return `UPDATE ${t} ${names.map((n) => `SET ${quoted(n)} = ?`).join(' ')}${removes.map((n) => ` REMOVE ${quoted(n)}`).join('')} WHERE "pk" = ? AND ${conditions.join(' AND ')}`;
      });
      return { Statement: text, Parameters: parameters, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' };
    },
  };
}

/** The bookkeeping attributes every write sets, in the order statementBuilder gives their parameters. */
function bookkeepingNames(arrival: boolean): string[] {
  return [
    'org',
    'entity',
    'orgEntity',
    'recordKey',
    HASH,
    'templateId',
    LAST_RUN,
    'lastRow',
    'updatedAt',
    'changeSeq',
    ...(arrival ? [LANE, SEQ] : []),
  ];
}

/** The items of `pks` (hash and ordering attributes only), by pk: BatchGetItem of 100 keys, unprocessed ones retried. */
async function readStates(
  db: DynamoDBDocumentClient,
  table: string,
  pks: readonly string[],
  consistent: boolean,
  stats: RecordStoreStats | undefined,
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  // A batch of more than 100 rows reads its parts side by side.
  await mapConcurrent(chunks(pks, 100), 4, async (part) => {
    let keys: Record<string, unknown>[] = part.map((pk) => ({ pk }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`Records: ${keys.length} keys stayed unprocessed`);
      if (attempt > 0) await backoff(attempt);
      if (stats) stats.batchGets++;
      const out = await db.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: keys,
              ConsistentRead: consistent,
              ProjectionExpression: '#pk, #hash, #last, #created, #lane, #seq, #change',
              ExpressionAttributeNames: {
                '#pk': 'pk',
                '#hash': HASH,
                '#last': LAST_RUN,
                '#created': CREATED_RUN,
                '#lane': LANE,
                '#seq': SEQ,
                '#change': 'changeSeq',
              },
            },
          },
        }),
      );
      for (const item of out.Responses?.[table] ?? []) found.set(String(item.pk), item);
      keys = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  });
  return found;
}

function refusedState(old: Record<string, unknown>): StoredRecordState & { lane?: string; seq?: number } {
  return {
    ...storedState(old),
    ...(typeof old[LANE] === 'string' && typeof old[SEQ] === 'number' ? { lane: old[LANE], seq: old[SEQ] } : {}),
  };
}

/** The attributes the import keeps for ordering and counting, next to the mapped fields. */
const HASH = 'hash';
const LANE = 'importLane';
const SEQ = 'importSeq';
const LAST_RUN = 'lastRunId';
const CREATED_RUN = 'createdRunId';
/** Attributes the store sets on every write: a mapped field of the same name never overrides them. */
const BOOKKEEPING = new Set([...bookkeepingNames(true), 'pk', 'createdAt', CREATED_RUN]);

function storedState(item: Record<string, unknown>): StoredRecordState {
  return {
    ...(typeof item[HASH] === 'string' ? { hash: item[HASH] } : {}),
    ...(typeof item[LAST_RUN] === 'string' ? { lastRunId: item[LAST_RUN] } : {}),
    ...(typeof item[CREATED_RUN] === 'string' ? { createdRunId: item[CREATED_RUN] } : {}),
  };
}

/**
 * The refused item's string and number attributes as plain values: the DocumentClient does not unmarshall the item an
 * exception carries, and only such attributes decide a refusal.
 */
function plainAttributes(item: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!item) return undefined;
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    const v = value as { S?: string; N?: string } | null;
    if (typeof value === 'string' || typeof value === 'number') plain[name] = value;
    else if (typeof v?.S === 'string') plain[name] = v.S;
    else if (typeof v?.N === 'string') plain[name] = Number(v.N);
  }
  return plain;
}
