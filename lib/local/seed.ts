import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { tableName } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbJobs, putJob, putOrganization } from '../../functions/adapters/dynamodb-jobs.ts';
import { loadEntities } from '../../functions/adapters/dynamodb-system-of-record.ts';
import type { OrganizationConfig } from '../../functions/core/organizations.ts';
import type { EntityWrite } from '../../functions/core/ports.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { demoRecords } from './demo-data.ts';

/** The template a new local organization's first job follows: the foreign-national profile an HR system sends. */
export const FIRST_TEMPLATE = 'fn_profile_import';

/**
 * Makes an organization of the twin ready to receive files: its item (name, allowed records; what it has used is
 * kept) and, if it has no import job yet, a launched job for the profile template mapped 1:1. Safe on every start.
 * (Tests and the bench; the twin creates its organizations through the operator's code, then `seedFirstJob`.)
 */
export async function seedOrganization(db: DynamoDBDocumentClient, org: OrganizationConfig): Promise<void> {
  await putOrganization(db, org);
  await seedFirstJob(db, org.id);
}

/** A launched job for the profile template mapped 1:1, for a bootstrapped organization that has no import job. */
export async function seedFirstJob(db: DynamoDBDocumentClient, org: string): Promise<void> {
  const jobs = await dynamoDbJobs(db).importJobs(org);
  if (jobs.length === 0) await putJob(db, defaultImportJob(org, FIRST_TEMPLATE, 'profile-import'));
}

/** How many foreign nationals `npm start` gives the demo organization (with about 8 records each beside them). */
export const DEMO_PEOPLE = Number(process.env.INTEGRATOR_DEMO_PEOPLE ?? 2000);
export const DEMO_SEED = 1;

/**
 * Fills an organization's system of record with the demo data (lib/local/demo-data.ts) once: a marker item written
 * at the end says it is done, so a restart keeps what the case-management system or an import changed since, and a
 * first start cut off midway seeds again (the records are upserts of fixed keys: nothing is doubled).
 */
export async function seedDemoRecords(
  db: DynamoDBDocumentClient,
  org: string,
  options: { people?: number; seed?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<boolean> {
  const env = options.env ?? process.env;
  const TableName = tableName('Records', env);
  const marker = { pk: `${org}#~demoSeeded` };
  if ((await db.send(new GetCommand({ TableName, Key: marker, ConsistentRead: true }))).Item) return false;
  // The organization has none of these records yet (the marker is absent): whole-item puts, in bulk.
  const store = { put: (writes: readonly EntityWrite[]) => loadEntities(db, writes, { env }) };
  let batch: EntityWrite[] = [];
  for (const records of demoRecords({ org, people: options.people ?? DEMO_PEOPLE, seed: options.seed ?? DEMO_SEED })) {
    batch.push(...records);
    if (batch.length >= 500) {
      await store.put(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.put(batch);
  await db.send(new PutCommand({ TableName, Item: { ...marker, at: new Date().toISOString() } }));
  return true;
}
