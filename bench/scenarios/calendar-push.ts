/**
 * (i) Calendar push throughput: N changes (default 10,000) of our calendar over M case managers (default 50), each
 * connected to Google Calendar through the real OAuth flow against the Google stand-in (lib/local/google-standin.ts,
 * the official @googleapis/calendar and google-auth-library clients). Both started here, with DynamoDB Local
 * -inMemory and the twin's stream poller driving the push handler, as DynamoDB Streams drive the Lambda in AWS.
 * Setup (not timed): the connections and their grants (KMS stand-in: the twin's local data keys). Timed: from the
 * first write of our events to the last one present in the stand-in's store: our writes (PutItem, 16 at a time) ->
 * the table's stream -> the push handler -> the stand-in. The changes are 70 % adds, 20 % changes of an added event
 * and 10 % deletes of one; done when every change is visible in the stand-in. Also reported: provider calls per
 * change (every request the stand-in served, token refreshes included).
 * Usage: calendar-push.ts [N] [M]   (BENCH_DEBUG=1: the push's log lines on stderr)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbGrantVault, localDataKeys } from '../../functions/adapters/calendar-grant-vault.ts';
import { dynamoDbCalendarStore } from '../../functions/adapters/dynamodb-calendar.ts';
import { googleCalendarProvider } from '../../functions/adapters/google-calendar.ts';
import type { CalendarConnection } from '../../functions/core/calendar/connections.ts';
import { type CalendarEventInput, nextEvent } from '../../functions/core/calendar/events.ts';
import { handlerFor } from '../../functions/handlers/calendar-push.ts';
import { calendarStreamPoller } from '../../lib/local/calendar-stream.ts';
import { ensureTables, localDynamoDbClient, startDynamoDbLocal } from '../../lib/local/dynamodb-local.ts';
import { googleAdapterConfig, startGoogleStandin } from '../../lib/local/google-standin.ts';
import { tableEnvName, tables } from '../../schemas/tables.ts';
import { measure } from './measure.ts';

const changes = Number(process.argv[2] ?? 10_000);
const managers = Number(process.argv[3] ?? 50);
const ORG = 'bench';
const REDIRECT = 'http://127.0.0.1:9/oauth/calendar/callback';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const dir = mkdtempSync(join(tmpdir(), 'integrator-bench-push-'));
const db = await startDynamoDbLocal();
const google = await startGoogleStandin({});
try {
  await ensureTables(localDynamoDbClient(db.endpoint, db.region), tables, (t) => t.id);
  const env = Object.fromEntries(tables.map((t) => [tableEnvName(t.id), t.id]));
  Object.assign(process.env, env);
  const documents = dynamoDbDocumentClient({ region: db.region, dynamodbEndpoint: db.endpoint });
  const store = dynamoDbCalendarStore(documents, env);
  const vault = dynamoDbGrantVault(documents, ORG, localDataKeys(randomBytes(32)), env);
  const provider = googleCalendarProvider(googleAdapterConfig(google), { vault });
  const now = new Date();
  await store.putSubscription({ org: ORG, status: 'active', subscribedAt: now.toISOString(), subscribedBy: 'bench' });

  process.stderr.write(`(i) connecting ${managers} case managers to the Google stand-in... `);
  const ids: string[] = [];
  for (let m = 0; m < managers; m++) {
    const userId = `cm-${m}`;
    const email = `${userId}@bench.example.com`;
    google.addUser({ email });
    const connectionId = `conn-${m}`;
    const verifier = randomBytes(48).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const url = await provider.authorizer.authorizationUrl({
      state: `s-${m}`,
      codeChallenge: challenge,
      redirectUri: REDIRECT,
      loginHint: email,
    });
    const back = await google.signIn(url, email);
    const account = await provider.authorizer.completeAuthorization({
      connectionId,
      code: back.searchParams.get('code')!,
      codeVerifier: verifier,
      redirectUri: REDIRECT,
    });
    const connection: CalendarConnection = {
      org: ORG,
      connectionId,
      caseManagerId: userId,
      provider: 'google',
      status: 'active',
      stepReminders: false,
      calendarId: email,
      calendarName: email,
      account: { accountId: account.accountId, email: account.email },
      createdAt: now.toISOString(),
      lastAuthenticatedAt: now.toISOString(),
      activatedAt: new Date(now.getTime() - 60_000).toISOString(),
    };
    await store.putManager({ org: ORG, userId, email, connectionId, addedAt: '', addedBy: '' });
    await store.putConnection(connection);
    ids.push(userId);
  }
  process.stderr.write('done\n');

  const poller = calendarStreamPoller({
    dynamodb: localDynamoDbClient(db.endpoint, db.region),
    endpoint: db.endpoint,
    region: db.region,
    tableName: 'CalendarEvents',
    checkpointFile: join(dir, 'stream.json'),
    idleMs: 50,
    handler: handlerFor(() => ({
      store,
      providers: { google: provider },
      clock: { now: () => new Date() },
      notifyReauth: async () => {},
      log: (entry) => {
        if (process.env.BENCH_DEBUG) process.stderr.write(`${JSON.stringify(entry)}\n`);
      },
      count: () => {},
    })),
  });
  poller.start();
  const requestsBefore = google.requests.length;

  // The changes, in order: adds first for each event, then changes and deletes of added ones.
  const adds = Math.round(changes * 0.7);
  const updates = Math.round(changes * 0.2);
  const deletes = changes - adds - updates;
  const input = (n: number, title: string): CalendarEventInput => {
    const day = String(1 + (n % 27)).padStart(2, '0');
    const hour = String(8 + (n % 9)).padStart(2, '0');
    return {
      caseManagerId: ids[n % ids.length]!,
      kind: n % 3 === 0 ? 'court_date' : 'appointment',
      title,
      caseRef: `IMM-${n}`,
      when:
        n % 3 === 0
          ? {
              kind: 'allDay',
              startDate: `2027-02-${day}`,
              endDate: `2027-02-${String(Number(day) + 1).padStart(2, '0')}`,
            }
          : {
              kind: 'timed',
              start: `2027-02-${day}T${hour}:00:00`,
              end: `2027-02-${day}T${hour}:30:00`,
              timeZone: 'America/New_York',
            },
    };
  };
  const write = async (n: number, title: string) => {
    const id = `ev-${n}`;
    for (;;) {
      const previous = await store.getEvent(ORG, id);
      if (await store.putEvent(nextEvent(ORG, id, input(n, title), previous, new Date()), previous?.version ?? 0))
        return;
    }
  };
  const inParallel = async (count: number, fn: (i: number) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) await fn(next++);
      }),
    );
  };
  /** The stand-in's events (not cancelled), by our event id, with their titles. */
  const external = () => {
    const found = new Map<string, string>();
    for (const events of google.store.events.values()) {
      for (const e of events.values()) {
        const ours = e.extendedProperties?.private?.integratorEventId;
        if (ours && e.status !== 'cancelled') found.set(ours, String(e.summary ?? ''));
      }
    }
    return found;
  };

  await measure('(i) calendar push, our write -> Google stand-in', 0, async () => {
    await inParallel(adds, (n) => write(n, `Event ${n}`));
    await inParallel(updates, (n) => write(n, `Event ${n} (changed)`));
    await inParallel(deletes, (n) => store.deleteEvent(ORG, `ev-${adds - 1 - n}`));
    const done = () => {
      const seen = external();
      if (seen.size !== adds - deletes) return false;
      for (let n = 0; n < updates; n++) if (!seen.get(`ev-${n}`)?.endsWith('(changed)')) return false;
      return true;
    };
    const deadline = Date.now() + 30 * 60_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`not every change reached the stand-in (${external().size} events)`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const calls = google.requests.length - requestsBefore;
    return {
      rows: changes,
      notes: `${(calls / changes).toFixed(2)} provider calls per change (${calls.toLocaleString('en-US')} for ${changes.toLocaleString('en-US')} changes: ${adds} adds, ${updates} changes, ${deletes} deletes, ${managers} case managers)`,
    };
  });
  await poller.stop();
} finally {
  await google.stop();
  await db.stop();
  rmSync(dir, { recursive: true, force: true });
}
