import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { STSClient } from '@aws-sdk/client-sts';
import { TransferClient } from '@aws-sdk/client-transfer';
import type { Context } from 'hono';
import type { LambdaEvent } from 'hono/aws-lambda';
import { handle } from 'hono/aws-lambda';
import { kmsDataKeys } from '../adapters/calendar-grant-vault.ts';
import { registerProvidersAtColdStart } from '../adapters/calendar-provider-secrets.ts';
import { calendarProvidersFor } from '../adapters/calendar-providers.ts';
import { dynamoDbCalendarStore } from '../adapters/dynamodb-calendar.ts';
import { dynamoDbJobs } from '../adapters/dynamodb-jobs.ts';
import { dynamoDbBillingReports, dynamoDbOrganizations } from '../adapters/dynamodb-organizations.ts';
import { dynamoDbRunReports } from '../adapters/dynamodb-reports.ts';
import { eventBridgeScheduler, eventBridgeSettingsFromEnv } from '../adapters/eventbridge-scheduler.ts';
import { jobRunRequestsFromEnv } from '../adapters/job-run-requests.ts';
import { tenantSettingsFromEnv, tenantStores } from '../adapters/tenant-stores.ts';
import { transferSettingsFromEnv, transferSftpUsers } from '../adapters/transfer-sftp-users.ts';
import { createApi } from '../api/app.ts';
import { type Caller, callerFromClaims } from '../api/auth.ts';
import { TENANT_ENV } from '../core/tenant-policy.ts';
import { logger } from './observability.ts';

export { ORG_CLAIM } from '../api/auth.ts';

/**
 * API Gateway's JWT authorizer has verified the token (signature, issuer, audience, expiry) before the request gets
 * here; read its claims: organization, user and role (the `cognito:groups` claim, as API Gateway renders it).
 */
function callerFromAuthorizer(c: Context<{ Bindings: { event: LambdaEvent } }>): Caller | undefined {
  const context = c.env?.event?.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } };
  return callerFromClaims(context?.authorizer?.jwt?.claims);
}

// The function's own role may do nothing on the tables: every DynamoDB call runs on the caller organization's
// credentials (the tenant-data role, assumed with a session policy for that organization's keys).
const region = process.env.AWS_REGION;
// Job schedules (EventBridge Scheduler) and run now (the job-runs queue): lib/aws/schedules.ts sets their environment.
const schedulerSettings = eventBridgeSettingsFromEnv();
const runRequests = jobRunRequestsFromEnv();
// The firm admin's /v1/sftp-keys import and delete keys of the organization's Transfer Family user (lib/aws/sftp.ts).
const transfer = transferSettingsFromEnv();
// Calendar sync (lib/aws/calendar.ts): the providers' OAuth clients from their secrets, read once per cold start; the
// grant key is used on the tenant session, which KMS allows only with the caller's organization as context.
const providersReady = registerProvidersAtColdStart(process.env, (message, details) => logger.warn(message, details));
const calendarKey = process.env[TENANT_ENV.calendarKey];
const calendarRedirectUri = process.env.CALENDAR_REDIRECT_URI;
const storesFor = tenantStores({
  sts: new STSClient(region ? { region } : {}),
  ...tenantSettingsFromEnv(),
  ...(region ? { region } : {}),
  build: (db, org, credentials) => ({
    reports: dynamoDbRunReports(db),
    jobs: dynamoDbJobs(db),
    billing: dynamoDbBillingReports(db),
    organizations: dynamoDbOrganizations(db),
    // Built on first use, after the providers are registered (a session may start before the secrets are read).
    calendar: once(() => ({
      store: dynamoDbCalendarStore(db),
      providers: calendarKey
        ? calendarProvidersFor(
            db,
            process.env,
            kmsDataKeys(new KMSClient({ ...(region ? { region } : {}), credentials }), calendarKey),
          )(org)
        : {},
    })),
  }),
});
function once<T>(build: () => T): () => T {
  let value: { built: T } | undefined;
  return () => {
    value ??= { built: build() };
    return value.built;
  };
}

const app = createApi({
  ...(transfer ? { sftpUsers: transferSftpUsers(new TransferClient(region ? { region } : {}), transfer) } : {}),
  ...(schedulerSettings
    ? { scheduler: eventBridgeScheduler(new SchedulerClient(region ? { region } : {}), schedulerSettings) }
    : {}),
  ...(runRequests ? { runRequests } : {}),
  storesFor,
  ...(calendarKey && calendarRedirectUri
    ? {
        calendarRedirectUri,
        calendarFor: async (org: string) => {
          // Registered before the first calendar request builds its providers (a cold start's secrets read).
          await providersReady;
          return (await storesFor(org)).calendar();
        },
      }
    : {}),
  authenticate: (c) => callerFromAuthorizer(c as unknown as Context<{ Bindings: { event: LambdaEvent } }>),
});

export const handler = handle(app);
