/**
 * Real local parts for integration tests: DynamoDB Local (in memory) and s3rver on free loopback ports, with the
 * project's tables created from schemas/tables.ts. Each call gets its own servers, so test files stay independent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientConfig } from '../../functions/adapters/aws-clients.ts';
import { ensureTables, localDynamoDbClient, startDynamoDbLocal } from '../../lib/local/dynamodb-local.ts';
import { type LocalS3, startLocalS3 } from '../../lib/local/s3-server.ts';
import { tableEnvName, tables } from '../../schemas/tables.ts';

export interface LocalParts {
  config: ClientConfig;
  bucket: string;
  s3: LocalS3;
  /** Environment a handler needs (table names, bucket, endpoints), as CDK or the twin would set it. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalParts(options: { dynamodb?: boolean; s3?: boolean } = {}): Promise<LocalParts> {
  const wantDb = options.dynamodb ?? true;
  const wantS3 = options.s3 ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'integrator-test-'));
  const bucket = 'integrator-test';
  const db = wantDb ? await startDynamoDbLocal() : undefined;
  const s3 = wantS3 ? await startLocalS3({ directory: join(dir, 's3'), bucket }) : undefined;
  const env: Record<string, string> = { INTEGRATOR_BUCKET: bucket, AWS_REGION: 'us-east-1' };
  if (db) {
    await ensureTables(localDynamoDbClient(db.endpoint), tables, (t) => t.id);
    env.INTEGRATOR_DYNAMODB_ENDPOINT = db.endpoint;
    for (const t of tables) env[tableEnvName(t.id)] = t.id;
  }
  if (s3) env.INTEGRATOR_S3_ENDPOINT = s3.endpoint;
  return {
    config: { region: 'us-east-1', dynamodbEndpoint: db?.endpoint, s3Endpoint: s3?.endpoint },
    bucket,
    s3: s3 as LocalS3,
    env,
    async stop() {
      await Promise.all([db?.stop(), s3?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
