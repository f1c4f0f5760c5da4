/**
 * Which calendar providers this deployment can reach, per organization, each over that organization's grant vault
 * (KMS in AWS: CALENDAR_KEY_ARN; the twin's local key: INTEGRATOR_CALENDAR_LOCAL_KEY, hex). The provider adapters
 * (functions/adapters/google-calendar*.ts, microsoft-calendar*.ts) are registered here through
 * `registerCalendarProvider`: in AWS from the providers' secrets (calendar-provider-secrets.ts), on the twin over the
 * stand-ins (lib/local/calendar.ts); one not registered is not configured, and the API answers provider_not_configured.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CalendarProvider, CalendarProviderId, GrantVault } from '../core/calendar/provider.ts';
import { type DataKeys, dynamoDbGrantVault, kmsDataKeys, localDataKeys } from './calendar-grant-vault.ts';

export type ProviderFactory = (vault: GrantVault, env: NodeJS.ProcessEnv) => CalendarProvider | undefined;

const factories = new Map<CalendarProviderId, ProviderFactory>();

/** A provider adapter's constructor over a vault (undefined when its settings are missing from the environment). */
export function registerCalendarProvider(id: CalendarProviderId, factory: ProviderFactory): void {
  factories.set(id, factory);
}

export function dataKeysFromEnv(env: NodeJS.ProcessEnv = process.env): DataKeys {
  if (env.CALENDAR_KEY_ARN) return kmsDataKeys(new KMSClient({}), env.CALENDAR_KEY_ARN);
  const local = env.INTEGRATOR_CALENDAR_LOCAL_KEY;
  if (local && /^[0-9a-f]{64}$/i.test(local)) return localDataKeys(Buffer.from(local, 'hex'));
  throw new Error(
    'neither CALENDAR_KEY_ARN nor INTEGRATOR_CALENDAR_LOCAL_KEY is set: calendar grants cannot be encrypted',
  );
}

/** The providers of one organization, each over that organization's vault; cached per organization. */
export function calendarProvidersFor(
  db: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv = process.env,
  /** Who encrypts the data keys (default from the environment; the API passes KMS on the tenant session). */
  dataKeys?: DataKeys,
): (org: string) => Partial<Record<CalendarProviderId, CalendarProvider>> {
  const keys = factories.size > 0 ? (dataKeys ?? dataKeysFromEnv(env)) : undefined;
  const cache = new Map<string, Partial<Record<CalendarProviderId, CalendarProvider>>>();
  return (org) => {
    let providers = cache.get(org);
    if (!providers) {
      providers = {};
      if (keys) {
        const vault = dynamoDbGrantVault(db, org, keys, env);
        for (const [id, factory] of factories) {
          const provider = factory(vault, env);
          if (provider) providers[id] = provider;
        }
      }
      cache.set(org, providers);
    }
    return providers;
  };
}
