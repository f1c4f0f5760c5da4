/**
 * Calendar sync on the twin: the local key of the grant vault (.local/calendar-key, mode 0600: the twin's stand-in
 * for the KMS key), the demo organization's calendar seed, the OAuth redirect URI of the local API, and the stream
 * poller that drives the push handler as the DynamoDB Streams event source does in AWS, and the resume check of
 * quota pauses on a timer (INTEGRATOR_CALENDAR_RESUME_MS, default a minute), as its schedule runs it in AWS.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { calendarProvidersFor, registerCalendarProvider } from '../../functions/adapters/calendar-providers.ts';
import { dynamoDbCalendarStore } from '../../functions/adapters/dynamodb-calendar.ts';
import { googleCalendarProvider } from '../../functions/adapters/google-calendar.ts';
import { microsoftCalendarProvider } from '../../functions/adapters/microsoft-calendar.ts';
import type { CalendarServices } from '../../functions/api/calendar-routes.ts';
import { handlerFor, pushDepsFromEnv } from '../../functions/handlers/calendar-push.ts';
import { createCalendarResumeHandler } from '../../functions/handlers/calendar-resume.ts';
import { tableEnvName } from '../../schemas/tables.ts';
import { seedDemoCalendar } from './calendar-seed.ts';
import { calendarStreamPoller, type StreamPoller } from './calendar-stream.ts';
import { localDynamoDbClient } from './dynamodb-local.ts';
import { type GoogleStandin, googleAdapterConfig, startGoogleStandin } from './google-standin.ts';
import { type MicrosoftStandin, microsoftAdapterConfig, startMicrosoftStandin } from './microsoft-standin.ts';
import { ensureLocalCa, processTrustsLocalCa, untrustedCaMessage } from './tls.ts';

/** The first day of the demo calendar: fixed, so every machine seeds the same events. */
export const DEMO_CALENDAR_FROM = '2026-12-07';

export interface LocalCalendar {
  calendarFor(org: string): CalendarServices;
  redirectUri: string;
  poller: StreamPoller;
  /** The provider stand-ins' base URLs (Microsoft only when this process trusts the local CA: NODE_EXTRA_CA_CERTS). */
  standins: { google: string; microsoft?: string };
  stop(): Promise<void>;
}

/**
 * The two clouds' stand-ins (lib/local/google-standin.ts, microsoft-standin.ts) with the demo case managers as their
 * users, registered as this process's calendar providers, so the twin connects and pushes through the same adapters
 * and official clients as AWS. The Microsoft stand-in serves HTTPS: the Graph client and MSAL only call a server this
 * process trusts, and Node reads NODE_EXTRA_CA_CERTS only at start (`npm start` sets it); without it Microsoft is left
 * out and said so, rather than every push failing on TLS.
 */
async function startProviderStandins(
  users: { email: string; name: string }[],
  log: (entry: Record<string, unknown>) => void,
): Promise<{ google: GoogleStandin; microsoft?: MicrosoftStandin }> {
  const google = await startGoogleStandin({});
  for (const u of users) google.addUser({ email: u.email, name: u.name });
  registerCalendarProvider('google', (vault) => googleCalendarProvider(googleAdapterConfig(google), { vault }));
  const ca = await ensureLocalCa();
  if (!processTrustsLocalCa(ca)) {
    log({ level: 'WARN', message: 'Microsoft stand-in not started', reason: untrustedCaMessage(ca) });
    return { google };
  }
  const microsoft = await startMicrosoftStandin({});
  for (const u of users) microsoft.addUser({ email: u.email, name: u.name });
  registerCalendarProvider('microsoft', (vault) =>
    microsoftCalendarProvider(microsoftAdapterConfig(microsoft), { vault }),
  );
  return { google, microsoft };
}

export async function startLocalCalendar(options: {
  stateDir: string;
  documents: DynamoDBDocumentClient;
  dynamodbEndpoint: string;
  region: string;
  apiPort: number;
  demo?: { org: string; managers: { userId: string; email: string; name: string }[] };
  log: (entry: Record<string, unknown>) => void;
}): Promise<LocalCalendar> {
  const keyFile = join(options.stateDir, 'calendar-key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  process.env.INTEGRATOR_CALENDAR_LOCAL_KEY = readFileSync(keyFile, 'utf8').trim();
  const store = dynamoDbCalendarStore(options.documents);
  const standins = await startProviderStandins(options.demo?.managers ?? [], options.log);
  const providersFor = calendarProvidersFor(options.documents);
  if (options.demo) {
    const from = process.env.INTEGRATOR_CALENDAR_SEED_FROM ?? DEMO_CALENDAR_FROM;
    if (await seedDemoCalendar(store, options.demo.org, options.demo.managers, from, new Date())) {
      options.log({ level: 'INFO', message: 'demo calendar seeded', org: options.demo.org, from });
    }
  }
  const poller = calendarStreamPoller({
    dynamodb: localDynamoDbClient(options.dynamodbEndpoint, options.region),
    endpoint: options.dynamodbEndpoint,
    region: options.region,
    tableName: process.env[tableEnvName('CalendarEvents')] ?? 'CalendarEvents',
    checkpointFile: join(options.stateDir, 'streams', 'calendar-events.json'),
    handler: handlerFor(pushDepsFromEnv(process.env, providersFor)),
    log: options.log,
  });
  poller.start();
  const resume = createCalendarResumeHandler();
  let resuming = false;
  const resumeTimer = setInterval(
    () => {
      if (resuming) return;
      resuming = true;
      resume()
        .catch((err: unknown) => options.log({ level: 'ERROR', message: 'calendar resume failed', error: String(err) }))
        .finally(() => {
          resuming = false;
        });
    },
    Number(process.env.INTEGRATOR_CALENDAR_RESUME_MS ?? 60_000),
  );
  return {
    calendarFor: (org) => ({ store, providers: providersFor(org) }),
    redirectUri: `http://127.0.0.1:${options.apiPort}/oauth/calendar/callback`,
    poller,
    standins: {
      google: standins.google.url,
      ...(standins.microsoft ? { microsoft: standins.microsoft.url } : {}),
    },
    stop: async () => {
      clearInterval(resumeTimer);
      await poller.stop();
      await Promise.all([standins.google.stop(), standins.microsoft?.stop()]);
    },
  };
}
