/**
 * The operator API's Lambda: `/operator/*` of the HTTP API, which API Gateway authorizes with IAM (SigV4) and sends
 * here only (lib/aws/operator.ts). The caller is the IAM principal API Gateway verified; a request without one (a
 * route misconfigured to reach this function some other way) is refused, so no organization's token can get in.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { TransferClient } from '@aws-sdk/client-transfer';
import type { Context } from 'hono';
import type { LambdaEvent } from 'hono/aws-lambda';
import { handle } from 'hono/aws-lambda';
import { configFromEnv, dynamoDbDocumentClient } from '../adapters/aws-clients.ts';
import { dynamoDbOrganizations } from '../adapters/dynamodb-organizations.ts';
import { eventBridgeScheduler, eventBridgeSettingsFromEnv } from '../adapters/eventbridge-scheduler.ts';
import { organizationData } from '../adapters/organization-data.ts';
import { transferSettingsFromEnv, transferSftpUsers } from '../adapters/transfer-sftp-users.ts';
import { createOperatorApi } from '../api/organizations-routes.ts';
import { logger } from './observability.ts';

/** The IAM caller of a request API Gateway authorized with AWS_IAM (payload 2.0: requestContext.authorizer.iam). */
export function iamCallerOf(event: LambdaEvent | undefined): string | undefined {
  const context = event?.requestContext as { authorizer?: { iam?: { userArn?: unknown } } } | undefined;
  const arn = context?.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn.startsWith('arn:') ? arn : undefined;
}

const region = process.env.AWS_REGION;
const config = configFromEnv();
const transfer = transferSettingsFromEnv();
if (!transfer) throw new Error('the operator function needs SFTP_SERVER_ID, SFTP_USER_ROLE_ARN, SFTP_BUCKET_ARN');
const schedulerSettings = eventBridgeSettingsFromEnv();
const db = dynamoDbDocumentClient(config);

const app = createOperatorApi({
  admin: {
    organizations: dynamoDbOrganizations(db),
    sftpUsers: transferSftpUsers(new TransferClient(region ? { region } : {}), transfer),
    data: organizationData(db, new S3Client(region ? { region } : {})),
    ...(schedulerSettings
      ? { scheduler: eventBridgeScheduler(new SchedulerClient(region ? { region } : {}), schedulerSettings) }
      : {}),
    now: () => new Date(),
  },
  authenticate: (c) => iamCallerOf((c as unknown as Context<{ Bindings: { event: LambdaEvent } }>).env?.event),
  log: (entry) => {
    const { level, message, ...rest } = entry as { level?: string; message?: string };
    if (level === 'ERROR') logger.error(message ?? 'operator', rest);
    else logger.info(message ?? 'operator', rest);
  },
});

export const handler = handle(app);
