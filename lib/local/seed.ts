import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbJobs, putJob, putOrganization } from '../../functions/adapters/dynamodb-jobs.ts';
import type { OrganizationConfig } from '../../functions/core/organizations.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';

/** The template a new local organization's first job follows: the foreign-national profile an HR system sends. */
export const FIRST_TEMPLATE = 'fn_profile_import';

/**
 * Makes an organization of the twin ready to receive files: its item (name, allowed records; what it has used is
 * kept) and, if it has no import job yet, a launched job for the profile template mapped 1:1. Safe on every start.
 */
export async function seedOrganization(db: DynamoDBDocumentClient, org: OrganizationConfig): Promise<void> {
  await putOrganization(db, org);
  const jobs = await dynamoDbJobs(db).importJobs(org.id);
  if (jobs.length === 0) await putJob(db, defaultImportJob(org.id, FIRST_TEMPLATE, 'profile-import'));
}
