import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../core/ports.ts';
import {
  TENANT_DATA,
  TENANT_ENV,
  type TenantDataName,
  type TenantResources,
  tenantSessionPolicy,
} from '../core/tenant-policy.ts';
import { DOCUMENT_OPTIONS } from './aws-clients.ts';

/** How long assumed credentials live (STS's minimum is 900 s); renewed a minute before they expire. */
export const TENANT_SESSION_SECONDS = 900;
const RENEW_BEFORE_MS = 60_000;

/** An assumed session's credentials, as the AWS SDK clients take them. */
export interface TenantCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface TenantStoresOptions<S> {
  sts: STSClient;
  /** The tenant-data role (TENANT_ROLE_ARN): only the API's role may assume it, with a session tag `org`. */
  roleArn: string;
  resources: TenantResources;
  region?: string;
  /**
   * The stores of one organization, over a document client that holds its scoped credentials; the credentials
   * themselves for other clients of the session (KMS, for the calendar grants).
   */
  build(db: DynamoDBDocumentClient, org: string, credentials: TenantCredentials): S;
  clock?: Clock;
}

/**
 * The API's stores for one organization, on credentials only that organization's items accept: STS AssumeRole with
 * the session policy of core/tenant-policy.ts and the session tag `org` (the tenant role's own policy is keyed by that
 * tag too). Cached per organization for the credentials' lifetime; concurrent first requests share one AssumeRole.
 */
export function tenantStores<S>(options: TenantStoresOptions<S>): (org: string) => Promise<S> {
  const clock = options.clock ?? { now: () => new Date() };
  const cache = new Map<string, Promise<{ stores: S; renewAt: number }>>();
  const assume = async (org: string) => {
    const out = await options.sts.send(
      new AssumeRoleCommand({
        RoleArn: options.roleArn,
        RoleSessionName: `api-${org}`,
        DurationSeconds: TENANT_SESSION_SECONDS,
        Policy: tenantSessionPolicy(org, options.resources),
        Tags: [{ Key: 'org', Value: org }],
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error('STS AssumeRole returned no credentials');
    }
    const credentials: TenantCredentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...(options.region ? { region: options.region } : {}), credentials }),
      DOCUMENT_OPTIONS,
    );
    return { stores: options.build(db, org, credentials), renewAt: c.Expiration.getTime() - RENEW_BEFORE_MS };
  };
  return async (org) => {
    const cached = cache.get(org);
    if (cached) {
      const entry = await cached;
      if (entry.renewAt > clock.now().getTime()) return entry.stores;
    }
    // Expired: renewed once, however many requests find it so at the same time.
    let next = cache.get(org);
    if (next === cached) {
      const assumed = assume(org);
      cache.set(org, assumed);
      // A failure is not cached: the next request tries again.
      assumed.catch(() => {
        if (cache.get(org) === assumed) cache.delete(org);
      });
      next = assumed;
    }
    return (await next!).stores;
  };
}

/** The tenant role and resources from the environment CDK sets; throws naming what is missing. */
export function tenantSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  roleArn: string;
  resources: TenantResources;
} {
  const read = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set: the API cannot scope its credentials to an organization`);
    return value;
  };
  const names = Object.keys(TENANT_DATA) as TenantDataName[];
  return {
    roleArn: read(TENANT_ENV.roleArn),
    resources: {
      ...(Object.fromEntries(names.map((n) => [n, read(TENANT_ENV[n])])) as Record<TenantDataName, string>),
      dataKey: read(TENANT_ENV.dataKey),
      calendarKey: read(TENANT_ENV.calendarKey),
    },
  };
}
