/**
 * The calendar providers of a deployment in AWS: each provider's OAuth client (the app registered with Microsoft
 * Entra ID or Google Cloud) is a Secrets Manager secret the stack creates empty (lib/aws/calendar.ts), named by
 * CALENDAR_GOOGLE_SECRET_ARN / CALENDAR_MICROSOFT_SECRET_ARN, holding `{"clientId": "...", "clientSecret": "..."}`
 * once an operator fills it in (README, "Calendar sync in AWS"). Read once per cold start through Powertools'
 * getSecret (cached) and registered as this process's providers (calendar-providers.ts), the way the twin registers
 * its stand-ins. A secret not filled in yet leaves its provider unconfigured and says so: the API answers
 * provider_not_configured for it, every other route works. The secret's value is never logged.
 */
import { type CalendarProviderId, PROVIDER_SECRET_ENV } from '../core/calendar/provider.ts';
import { registerCalendarProvider } from './calendar-providers.ts';
import { googleCalendarProvider } from './google-calendar.ts';
import { microsoftCalendarProvider } from './microsoft-calendar.ts';

/** Work and school accounts of any tenant: case managers sign in with their firm's Microsoft 365 account. */
export const DEFAULT_MICROSOFT_AUTHORITY = 'https://login.microsoftonline.com/organizations';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

/** A secret's text as an OAuth client, or why it is not one (naming the fields, never echoing the value). */
export function readOAuthClient(
  text: string | undefined,
): { ok: true; client: OAuthClient } | { ok: false; problem: string } {
  if (text === undefined || text.trim() === '') return { ok: false, problem: 'the secret is empty' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the secret is not JSON ({"clientId": "...", "clientSecret": "..."})' };
  }
  const value = parsed as Record<string, unknown> | null;
  const missing = ['clientId', 'clientSecret'].filter(
    (k) => typeof value?.[k] !== 'string' || (value[k] as string).trim() === '',
  );
  if (missing.length > 0) return { ok: false, problem: `the secret has no ${missing.join(' and no ')}` };
  return { ok: true, client: { clientId: String(value!.clientId).trim(), clientSecret: String(value!.clientSecret) } };
}

export interface ProviderRegistration {
  registered: CalendarProviderId[];
  /** Providers left unconfigured, and why. */
  skipped: { provider: CalendarProviderId; problem: string }[];
}

/**
 * Reads the providers' secrets named in `env` and registers each provider whose client is complete. `fetchSecret`
 * is Powertools' getSecret in the handlers (tests pass their own).
 */
export async function registerProvidersFromSecrets(
  env: NodeJS.ProcessEnv,
  fetchSecret: (id: string) => Promise<string | undefined>,
): Promise<ProviderRegistration> {
  const result: ProviderRegistration = { registered: [], skipped: [] };
  for (const provider of Object.keys(PROVIDER_SECRET_ENV) as CalendarProviderId[]) {
    const secretId = env[PROVIDER_SECRET_ENV[provider]];
    if (!secretId) continue;
    let text: string | undefined;
    try {
      text = await fetchSecret(secretId);
    } catch (err) {
      // Access refused, no such secret: this provider is unavailable, the rest of the function works.
      result.skipped.push({ provider, problem: `its secret could not be read (${(err as Error).name})` });
      continue;
    }
    const read = readOAuthClient(text);
    if (!read.ok) {
      result.skipped.push({ provider, problem: read.problem });
      continue;
    }
    const { clientId, clientSecret } = read.client;
    if (provider === 'google') {
      registerCalendarProvider('google', (vault) => googleCalendarProvider({ clientId, clientSecret }, { vault }));
    } else {
      const authority = env.CALENDAR_MICROSOFT_AUTHORITY ?? DEFAULT_MICROSOFT_AUTHORITY;
      registerCalendarProvider('microsoft', (vault) =>
        microsoftCalendarProvider({ clientId, clientSecret, authority }, { vault }),
      );
    }
    result.registered.push(provider);
  }
  return result;
}

/** Powertools' getSecret as `fetchSecret`: the secret's string, cached for five minutes per container. */
export async function powertoolsSecret(id: string): Promise<string | undefined> {
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const value = await getSecret(id, { maxAge: 300 });
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : Buffer.from(value as Uint8Array).toString('utf8');
}

/** A Lambda's cold start: the providers from their secrets through Powertools, each one left out warned of. */
export async function registerProvidersAtColdStart(
  env: NodeJS.ProcessEnv,
  warn: (message: string, details: { provider: CalendarProviderId; problem: string }) => void,
): Promise<ProviderRegistration> {
  const registration = await registerProvidersFromSecrets(env, powertoolsSecret);
  for (const skipped of registration.skipped) warn('calendar provider not configured', skipped);
  return registration;
}
