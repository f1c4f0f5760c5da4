/**
 * What an organization's SFTP user may do, as IAM: the S3 actions behind each permission of AREA_ACCESS
 * (functions/core/transfer/layout.ts, which the local SFTP server enforces too). One definition serves the CDK users'
 * role (lib/aws/sftp.ts: any organization's folders, per area) and the session policy each Transfer Family user gets
 * when it is created at runtime (functions/adapters/transfer-sftp-users.ts: its own organization's folders only).
 * Pure: the bucket's ARN comes in.
 */
import { AREA_ACCESS, type Area, type AreaAccess, areaPrefix } from './transfer/layout.ts';

/** Listing is granted separately (s3:ListBucket on the organization's prefixes). */
export const S3_ACTIONS: Readonly<Record<keyof AreaAccess, readonly string[]>> = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject'],
  delete: ['s3:DeleteObject'],
};

export const SFTP_AREAS = Object.keys(AREA_ACCESS) as Area[];

/** The object actions an SFTP user gets in one of its folders. */
export function userActions(area: Area): string[] {
  const access = AREA_ACCESS[area];
  return (Object.keys(S3_ACTIONS) as (keyof AreaAccess)[]).filter((p) => access[p]).flatMap((p) => S3_ACTIONS[p]);
}

/** Transfer Family takes a session policy of at most this many characters. */
export const MAX_SFTP_SESSION_POLICY_LENGTH = 2048;

/**
 * The session policy of `org`'s Transfer Family user: listing limited by s3:prefix to `<area>/<org>/…` (never the
 * bare `inbound/acme`, which as a prefix would also match `inbound/acme-corp/…`), objects by their ARN.
 */
export function sftpSessionPolicy(org: string, bucketArn: string): string {
  const prefixes = SFTP_AREAS.map((area) => areaPrefix(area, org));
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      },
      ...SFTP_AREAS.map((area) => ({
        Effect: 'Allow',
        Action: userActions(area),
        Resource: `${bucketArn}/${areaPrefix(area, org)}*`,
      })),
    ],
  });
  if (policy.length > MAX_SFTP_SESSION_POLICY_LENGTH) {
    throw new Error(`the SFTP session policy of ${org} has ${policy.length} characters; at most 2048 are taken`);
  }
  return policy;
}
