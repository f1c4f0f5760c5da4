/**
 * Once, after the deployment that adds the Files table's byPending index: puts the ledger entries written pending
 * before it into the index (functions/adapters/dynamodb-files.ts stampPendingEntries). Idempotent; run it again if it
 * was cut off. Reads TABLE_FILES (the table's physical name, a stack output's) and the usual AWS credentials.
 */
import { configFromEnv, dynamoDbDocumentClient, tableName } from '../functions/adapters/aws-clients.ts';
import { stampPendingEntries } from '../functions/adapters/dynamodb-files.ts';

const stamped = await stampPendingEntries(dynamoDbDocumentClient(configFromEnv(process.env)), tableName('Files'));
console.log(`pending ledger entries put into the byPending index: ${stamped}`);
