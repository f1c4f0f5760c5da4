/**
 * (p) The store's raw write rates, on the DynamoDB the import of (c) uses in the same round (bench/run.ts passes its
 * endpoint), so (c) is read against what this very store can take: N profile-sized records (default 20,000) written
 * as whole items by BatchWriteItem (8 writers of 25 items), then the same records changed by the import's kind of
 * partial update (the mapped fields set, one removed, the bookkeeping attributes, the hash and arrival conditions):
 *   - UpdateItem, 16 in flight (the import's adapter before issue 13);
 *   - PartiQL BatchExecuteStatement of 25 UPDATE statements, 8 in flight;
 *   - the same primitive creating N new records (25 INSERT statements, 8 in flight): the form (c) sends, as it
 *     imports into an empty table;
 *   - TransactWriteItems of 100 Updates, 2 in flight (one of 100 items is already 100 writes in flight).
 * Each primitive reports items/s and the Node CPU per item it cost this process (process.cpuUsage around it), and the
 * write units it would cost in AWS (items under 1 KB: 1 per write, 2 per transactional write).
 * Prints one JSON line: { primitives: [{ name, items, seconds, itemsPerSecond, cpuMicrosPerItem, writeUnits }] }.
 * Usage: [BENCH_DYNAMODB_ENDPOINT=http://...] import-primitives.ts [N]   (no endpoint: a DynamoDB Local of its own)
 */
import {
  BatchExecuteStatementCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { chunks, mapConcurrent } from '../../functions/adapters/dynamodb-expressions.ts';
import { ensureTables, localDynamoDbClient, startDynamoDbLocal } from '../../lib/local/dynamodb-local.ts';
import { tables } from '../../schemas/tables.ts';

const count = Number(process.argv[2] ?? 20_000);
const endpoint = process.env.BENCH_DYNAMODB_ENDPOINT;
const region = process.env.AWS_REGION ?? 'us-east-1';
const TABLE = 'Records';
const ORG = 'bench-primitives';

export interface PrimitiveRate {
  /** `chosen`: the import's primitive (functions/adapters/dynamodb-records.ts), which (c) is judged against. */
  id: 'batch_write' | 'update_item' | 'chosen' | 'chosen_create' | 'transactions';
  name: string;
  items: number;
  seconds: number;
  itemsPerSecond: number;
  cpuMicrosPerItem: number;
  writeUnits: number;
}

/** A profile row's mapped fields (about 400 bytes, like the generator's rows). */
function fields(i: number, round: number): Record<string, string> {
  return {
    employeeId: `E${String(i).padStart(7, '0')}`,
    firstName: `First${i}r${round}`,
    lastName: `Last${i}`,
    email: `person${i}.r${round}@example.com`,
    dateOfBirth: '1985-04-12',
    countryOfBirth: 'BR',
    citizenship: 'BR',
    jobTitle: `Senior Engineer ${round}`,
    department: 'Research and Development',
    workLocation: 'San Francisco, CA',
    managerEmail: `manager${i % 100}@example.com`,
    hireDate: '2020-02-01',
    phone: '+1 415 555 0100',
  };
}

const pk = (i: number) => `${ORG}#foreignNational#E${String(i).padStart(7, '0')}`;
const bookkeeping = (i: number, round: number) => ({
  hash: `h${round}-${i}`,
  lastRunId: `run-${round}`,
  lastRow: i + 2,
  updatedAt: new Date(0).toISOString(),
  importLane: 'lane',
  importSeq: round,
  changeSeq: round * count + i,
});

async function timed(
  id: PrimitiveRate['id'],
  name: string,
  units: number,
  body: () => Promise<void>,
): Promise<PrimitiveRate> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await body();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return {
    id,
    name,
    items: count,
    seconds,
    itemsPerSecond: count / seconds,
    cpuMicrosPerItem: (cpu.user + cpu.system) / count,
    writeUnits: units,
  };
}

async function batchWrite(db: DynamoDBDocumentClient): Promise<void> {
  const ids = Array.from({ length: count }, (_, i) => i);
  await mapConcurrent(chunks(ids, 25), 8, async (part) => {
    let pending: Record<string, unknown>[] = part.map((i) => ({
      PutRequest: {
        Item: {
          pk: pk(i),
          ...fields(i, 0),
          ...bookkeeping(i, 0),
          org: ORG,
          entity: 'foreignNational',
          orgEntity: `${ORG}#foreignNational#${i % 16}`,
          recordKey: `E${i}`,
        },
      },
    }));
    while (pending.length > 0) {
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [TABLE]: pending as never } }));
      pending = (out.UnprocessedItems?.[TABLE] as Record<string, unknown>[] | undefined) ?? [];
    }
  });
}

/** The import's partial update of record i in round r: as UpdateItem input parts. */
function updateInput(i: number, round: number) {
  const { phone: _removed, ...mapped } = fields(i, round);
  const set = { ...mapped, ...bookkeeping(i, round) };
  const names: Record<string, string> = { '#rm': 'phone', '#h': 'hash', '#l': 'importLane', '#s': 'importSeq' };
  const values: Record<string, unknown> = { ':hash': set.hash, ':lane': 'lane', ':seq': round };
  const sets = Object.entries(set).map(([name, value], n) => {
    names[`#a${n}`] = name;
    values[`:a${n}`] = value;
    return `#a${n} = :a${n}`;
  });
  return {
    TableName: TABLE,
    Key: { pk: pk(i) },
    UpdateExpression: `SET ${sets.join(', ')} REMOVE #rm`,
    ConditionExpression:
      'attribute_exists(pk) AND (#h <> :hash) AND (attribute_not_exists(#s) OR #l <> :lane OR #s <= :seq)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** The same partial update as one PartiQL statement (the shape functions/adapters/dynamodb-records.ts sends). */
function updateStatement(i: number, round: number) {
  const { phone: _removed, ...mapped } = fields(i, round);
  const set = { ...mapped, ...bookkeeping(i, round) };
  const names = Object.keys(set);
  return {
    Statement: `UPDATE "${TABLE}" ${names.map((n) => `SET "${n}" = ?`).join(' ')} REMOVE "phone" WHERE "pk" = ? AND "hash" <> ? AND ("importSeq" IS MISSING OR "importLane" <> ? OR "importSeq" <= ?)`,
    Parameters: [...Object.values(set), pk(i), set.hash, 'lane', round],
  };
}

/** A new record as the import creates it (one PartiQL INSERT, the shape dynamodb-records.ts sends for a create). */
function insertStatement(i: number) {
  const item: Record<string, unknown> = {
    ...fields(i, 0),
    ...bookkeeping(i, 0),
    org: ORG,
    entity: 'foreignNational',
    orgEntity: `${ORG}#foreignNational#${i % 16}`,
    recordKey: `N${i}`,
    createdAt: new Date(0).toISOString(),
    createdRunId: 'run-0',
  };
  const names = Object.keys(item);
  return {
    Statement: `INSERT INTO "${TABLE}" VALUE {'pk': ?, ${names.map((n) => `'${n}': ?`).join(', ')}}`,
    Parameters: [`${ORG}#foreignNational#N${i}`, ...Object.values(item)],
  };
}

async function insertStatements(db: DynamoDBDocumentClient): Promise<void> {
  const ids = Array.from({ length: count }, (_, i) => i);
  await mapConcurrent(chunks(ids, 25), 8, async (part) => {
    const out = await db.send(new BatchExecuteStatementCommand({ Statements: part.map((i) => insertStatement(i)) }));
    const failed = (out.Responses ?? []).filter((r) => r.Error).length;
    if (failed > 0) throw new Error(`${failed} statements failed`);
  });
}

async function updateItems(db: DynamoDBDocumentClient, round: number): Promise<void> {
  const ids = Array.from({ length: count }, (_, i) => i);
  await mapConcurrent(ids, 16, async (i) => {
    await db.send(new UpdateCommand(updateInput(i, round)));
  });
}

async function batchStatements(db: DynamoDBDocumentClient, round: number): Promise<void> {
  const ids = Array.from({ length: count }, (_, i) => i);
  await mapConcurrent(chunks(ids, 25), 8, async (part) => {
    const out = await db.send(
      new BatchExecuteStatementCommand({ Statements: part.map((i) => updateStatement(i, round)) }),
    );
    const failed = (out.Responses ?? []).filter((r) => r.Error).length;
    if (failed > 0) throw new Error(`${failed} statements failed`);
  });
}

async function transactions(db: DynamoDBDocumentClient, round: number): Promise<void> {
  const ids = Array.from({ length: count }, (_, i) => i);
  await mapConcurrent(chunks(ids, 100), 2, async (part) => {
    await db.send(
      new TransactWriteCommand({
        TransactItems: part.map((i) => ({ Update: updateInput(i, round) })),
        ClientRequestToken: `bench-${round}-${part[0]}`,
      }),
    );
  });
}

const local = endpoint ? undefined : await startDynamoDbLocal();
try {
  const url = endpoint ?? local!.endpoint;
  if (local) await ensureTables(localDynamoDbClient(url, region), tables, (t) => t.id);
  const db = dynamoDbDocumentClient({ region, dynamodbEndpoint: url });
  const primitives: PrimitiveRate[] = [];
  primitives.push(await timed('batch_write', 'BatchWriteItem (whole items, 8 x 25)', count, () => batchWrite(db)));
  primitives.push(await timed('update_item', 'UpdateItem (16 in flight)', count, () => updateItems(db, 1)));
  primitives.push(await timed('chosen', 'BatchExecuteStatement (UPDATE, 8 x 25)', count, () => batchStatements(db, 2)));
  primitives.push(
    await timed('chosen_create', 'BatchExecuteStatement (INSERT of new records, 8 x 25)', count, () =>
      insertStatements(db),
    ),
  );
  primitives.push(
    await timed('transactions', 'TransactWriteItems (2 x 100 Updates)', 2 * count, () => transactions(db, 3)),
  );
  process.stdout.write(`${JSON.stringify({ primitives })}\n`);
} finally {
  await local?.stop();
}
