import { STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'hono';
import type { LambdaEvent } from 'hono/aws-lambda';
import { handle } from 'hono/aws-lambda';
import { dynamoDbJobs } from '../adapters/dynamodb-jobs.ts';
import { dynamoDbRunReports } from '../adapters/dynamodb-reports.ts';
import { tenantSettingsFromEnv, tenantStores } from '../adapters/tenant-stores.ts';
import { type Caller, createApi } from '../api/app.ts';

/** The organization claim the user pool puts in every token (a custom attribute). */
export const ORG_CLAIM = 'custom:org';

/** API Gateway's JWT authorizer has verified the token before the request gets here; read its claims. */
function orgFromAuthorizer(c: Context<{ Bindings: { event: LambdaEvent } }>): Caller | undefined {
  const context = c.env?.event?.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } };
  const claims = context?.authorizer?.jwt?.claims;
  const org = claims?.[ORG_CLAIM];
  if (typeof org !== 'string' || org === '') return undefined;
  // Who comments and acknowledges: the user's e-mail when the token carries it (ID tokens), else its subject.
  const user = [claims?.email, claims?.['cognito:username'], claims?.sub].find(
    (v) => typeof v === 'string' && v !== '',
  );
  return user ? { org, user: user as string } : { org };
}

// The function's own role may do nothing on the tables: every DynamoDB call runs on the caller organization's
// credentials (the tenant-data role, assumed with a session policy for that organization's keys).
const region = process.env.AWS_REGION;
const app = createApi({
  storesFor: tenantStores({
    sts: new STSClient(region ? { region } : {}),
    ...tenantSettingsFromEnv(),
    ...(region ? { region } : {}),
    build: (db) => ({ reports: dynamoDbRunReports(db), jobs: dynamoDbJobs(db) }),
  }),
  authenticate: (c) => orgFromAuthorizer(c as unknown as Context<{ Bindings: { event: LambdaEvent } }>),
});

export const handler = handle(app);
