/**
 * `npm run migrate:records-index`: moves the Records items written before the index was sharded onto their shard
 * numbers the records that have no change sequence, and lists the records that name their person under the byPerson
 * index (functions/adapters/dynamodb-records-migration.ts). Resumable:
 * run it again after an interruption and it continues where it stopped; once done it returns at once.
 * In AWS: with credentials for the account, TABLE_RECORDS=<the stack's Records table> npm run migrate:records-index.
 * On the twin: runs by itself at start-up; INTEGRATOR_DYNAMODB_ENDPOINT points this script at another DynamoDB.
 */
import { configFromEnv, dynamoDbDocumentClient } from '../functions/adapters/aws-clients.ts';
import { migrateRecordsIndex } from '../functions/adapters/dynamodb-records-migration.ts';

const db = dynamoDbDocumentClient(configFromEnv());
let scanned = 0;
let changed = 0;
for (;;) {
  // Ten pages a call: progress is printed, and the position is kept after every page anyway.
  const report = await migrateRecordsIndex(db, { maxPages: 10 });
  scanned += report.scanned;
  changed += report.changed;
  console.log(`${scanned} items read, ${changed} changed${report.done ? ', done' : ''}`);
  if (report.done) break;
}
