import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { AttributeType, TableDefinition } from '../../schemas/tables.ts';
import { freePort, waitForPort } from './ports.ts';

export interface DynamoDbLocal {
  endpoint: string;
  region: string;
  /** The Java process's id (the twin records it, to end it after a crash of its own process). */
  pid?: number;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Folder for the database file; omit for an in-memory database (tests, benchmarks). */
  dbPath?: string;
  port?: number;
}

/** The jar ships inside the npm package amplify-dynamodb-simulator (folder emulator/). */
function emulatorDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
}

/**
 * Starts AWS's DynamoDB Local. `-sharedDb` makes every access key and region see the same tables, as every
 * handler and test must; `-disableTelemetry`: nothing about a developer's tables leaves the machine.
 *
 * It listens on every interface, not on loopback only: DynamoDB Local (1.25, `-help`) has no option to choose the
 * address, and its embedded server takes none from system properties. So the README says so; on a shared network,
 * firewall the port (INTEGRATOR_DYNAMODB_PORT, 8000 by default). Every other local part binds 127.0.0.1.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  const dir = emulatorDir();
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const child: ChildProcess = spawn(
    'java',
    [
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-sharedDb',
      '-disableTelemetry',
      ...storage,
      '-port',
      String(port),
    ],
    // In memory, DynamoDB Local still writes a metadata file into its working directory: keep it out of the repo.
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: options.dbPath ?? mkdtempSync(join(tmpdir(), 'ddb-local-')) },
  );
  // Whatever way this process ends through its event loop (process.exit, the end of a test file), the Java process
  // ends with it instead of living on orphaned. (A SIGKILL of this process alone still orphans it: the twin records
  // its pid and ends it on the next start, lib/local/leftovers.ts.)
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`DynamoDB Local could not start (is Java installed?): ${err.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited with code ${code}: ${stderr}`)));
  });
  exited.catch(() => {});
  await Promise.race([waitForPort(port, 30_000), exited]);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    ...(child.pid ? { pid: child.pid } : {}),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Creates the tables that do not exist yet (idempotent, so a restarted twin keeps its data). */
export async function ensureTables(
  client: DynamoDBClient,
  definitions: readonly TableDefinition[],
  nameOf: (table: TableDefinition) => string,
): Promise<void> {
  for (const table of definitions) {
    const TableName = nameOf(table);
    const keys = [table.partitionKey, ...(table.sortKey ? [table.sortKey] : [])];
    const indexKeys = (table.globalIndexes ?? []).flatMap((i) => [i.partitionKey, ...(i.sortKey ? [i.sortKey] : [])]);
    const attributes = new Map([...keys, ...indexKeys].map((k) => [k.name, k.type]));
    try {
      await client.send(
        new CreateTableCommand({
          TableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
            AttributeName,
            AttributeType,
          })),
          KeySchema: [
            { AttributeName: table.partitionKey.name, KeyType: 'HASH' },
            ...(table.sortKey ? [{ AttributeName: table.sortKey.name, KeyType: 'RANGE' as const }] : []),
          ],
          GlobalSecondaryIndexes: table.globalIndexes?.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
              ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
            ],
            Projection: { ProjectionType: 'ALL' },
          })),
          ...(table.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: table.stream } } : {}),
        }),
      );
      if (table.timeToLiveAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName,
            TimeToLiveSpecification: { AttributeName: table.timeToLiveAttribute, Enabled: true },
          }),
        );
      }
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
      await addMissingIndexes(client, TableName, table, attributes);
    }
  }
}

/**
 * A table kept from an earlier start (the twin's state under .local) gets the indexes added to its definition since
 * (as a CDK deployment adds them in AWS), one UpdateTable per index.
 */
async function addMissingIndexes(
  client: DynamoDBClient,
  TableName: string,
  table: TableDefinition,
  attributes: Map<string, AttributeType>,
): Promise<void> {
  const described = await client.send(new DescribeTableCommand({ TableName }));
  const existing = new Set((described.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  for (const index of table.globalIndexes ?? []) {
    if (existing.has(index.indexName)) continue;
    const keys = [index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])];
    await client.send(
      new UpdateTableCommand({
        TableName,
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: attributes.get(k.name)! })),
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: index.indexName,
              KeySchema: [
                { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
                ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          },
        ],
      }),
    );
  }
}

export function localDynamoDbClient(endpoint: string, region = 'us-east-1'): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}
