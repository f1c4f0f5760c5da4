/**
 * The local twin: the whole system on one machine, on real local parts, driving the very handlers the Lambdas run.
 *
 *   DynamoDB Local (-sharedDb)  <- tables from schemas/tables.ts, the same list CDK deploys
 *   s3rver (one bucket)         <- SFTP server writes through the S3 API, as Transfer Family does
 *   SFTP upload events (Completed, Failed), S3 copy events (renames) under inbound/
 *                               -> local queue (durable under .local/queues/, SQS semantics) -> import handler
 *   Node HTTP server            -> the API app (local tokens stand in for Cognito + the JWT authorizer)
 *   a timer                     -> the run watch (stalled runs, notifications as .eml files in .local/mail/)
 *   in-process scheduler        -> job-runs queue (durable) -> scheduled-run handler (EventBridge Scheduler -> SQS)
 *   integration events          -> in-process bus (lib/local/event-bus.ts): JSON files in .local/events/
 *   (lib/local/scheduler.ts)       run now from the API goes to the same queue
 *                               -> export jobs: export-runs queue (durable) -> export handler (lib/local/exports.ts)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import type { S3Event } from 'aws-lambda';
import { type ClientConfig, dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbOrganizations } from '../../functions/adapters/dynamodb-organizations.ts';
import { migrateRecordsIndex } from '../../functions/adapters/dynamodb-records-migration.ts';
import { organizationData } from '../../functions/adapters/organization-data.ts';
import { tableReadSftpUsers } from '../../functions/adapters/transfer-sftp-users.ts';
import type { Role } from '../../functions/api/auth-roles.ts';
import type { OrganizationAdminDeps } from '../../functions/core/organization-admin.ts';
import { createOrganization } from '../../functions/core/organization-admin.ts';
import {
  checkNewOrganization,
  type OrganizationConfig,
  orgOfSftpUser,
  parseOrganizations,
  sftpUserName,
} from '../../functions/core/organizations.ts';
import { IMPORT_QUEUE_SETTINGS } from '../../functions/core/transfer/import-queue.ts';
import { tableEnvName, tables } from '../../schemas/tables.ts';
import { ensureTables, localDynamoDbClient, startDynamoDbLocal } from './dynamodb-local.ts';
import { LOCAL_EVENT_BUS, LocalEventBus } from './event-bus.ts';
import { seedExportJobs, startExportRunsQueue } from './exports.ts';
import { takeFault } from './faults.ts';
import { generateKeyPair, knownHostsLine } from './keys.ts';
import { endLeftovers, recordChildren } from './leftovers.ts';
import { demoUsers, localAuthenticate, localIssuer, localSubject } from './local-auth.ts';
import { freePort } from './ports.ts';
import { acceptContinuations, LocalQueue, type SqsHandler } from './queue.ts';
import { startLocalS3 } from './s3-server.ts';
import { LocalScheduler } from './scheduler.ts';
import { seedDemoRecords, seedFirstJob } from './seed.ts';
import { startSftpServer } from './sftp-server.ts';

export interface TwinOptions {
  /** Where state persists across restarts (.local/ by default). */
  stateDir: string;
  /** Ports; 0 picks a free one. Defaults come from the environment or the values below. */
  ports?: Partial<Record<'sftp' | 'api' | 'dynamodb' | 's3', number>>;
  /** How long an upload's event waits before the import looks at it (the queue's DeliveryDelay; none in AWS). */
  settleMs?: number;
  /** How often the sweep runs (its schedule in AWS, lib/aws/sweep.ts); 0: never. Default 60 s. */
  sweepIntervalMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}

export interface StackInfo {
  sftp: {
    host: string;
    port: number;
    /** An OpenSSH known_hosts file holding the server's host key (`-o UserKnownHostsFile=...`). */
    knownHostsPath: string;
    users: { org: string; username: string; privateKeyPath: string }[];
  };
  api: {
    url: string;
    /** Per organization, its firm admin's token (the firm admin of `users`). */
    tokens: Record<string, string>;
    /** A token per demo user: one firm admin, one case manager and one viewer per organization. */
    users: { org: string; email: string; name: string; role: Role; token: string }[];
  };
  /** The operator route (`npm run org`): its base URL and the twin's operator credential (a bearer token). */
  operator: { url: string; token: string };
  dynamodb: { endpoint: string; region: string };
  s3: { endpoint: string; bucket: string };
  /**
   * Only with INTEGRATOR_TWIN_CONTROL=1 (tests): the scheduler's clock, on 127.0.0.1.
   * POST {url}/scheduler/jump {"at": ISO} moves it without firing; /scheduler/advance fires every run up to `at`.
   */
  control?: { url: string };
  /**
   * The calendar providers' stand-ins (lib/local/google-standin.ts, microsoft-standin.ts): their control API is under
   * `{url}/_standin/` (lib/local/standin-control.ts). Microsoft only when the twin trusts the local CA.
   */
  calendar: { google: string; microsoft?: string };
}

export interface Twin {
  info: StackInfo;
  importQueue: LocalQueue;
  /** Export runs handed over by the scheduled-run handler (the export function's SQS queue in AWS). */
  exportRunsQueue: LocalQueue;
  /** Scheduled and requested job runs (the scheduled-run handler's queue). */
  jobRunsQueue: LocalQueue;
  /** The in-process EventBridge Scheduler; tests take its clock over (jumpTo, advanceTo) to drive a DST day. */
  scheduler: LocalScheduler;
  /** The integration events the handlers published (EventBridge's stand-in; also files in .local/events/). */
  events: LocalEventBus;
  clientConfig: ClientConfig;
  stop(): Promise<void>;
}

export const DEFAULT_PORTS = { sftp: 2222, api: 3000, dynamodb: 8000, s3: 4569 } as const;
export const LOCAL_BUCKET = 'integrator-local';
export const DEMO_ORG = 'demo';
/** A second organization, created beside the demo one on first start: what tenant isolation is tried against. */
export const SECOND_ORG = 'acme';

function organizationsFile(stateDir: string): string {
  return join(stateDir, 'organizations.json');
}

/**
 * Reads the twin's organizations; on first start creates the demo organization and a second one (acme), each with a
 * fresh ed25519 key pair.
 */
async function loadOrganizations(stateDir: string): Promise<{ orgs: OrganizationConfig[]; keys: Map<string, string> }> {
  const file = organizationsFile(stateDir);
  const keysDir = join(stateDir, 'keys');
  if (!existsSync(file)) {
    mkdirSync(keysDir, { recursive: true });
    const first: OrganizationConfig[] = [];
    for (const [id, name, allowedRecords] of [
      [DEMO_ORG, 'Demo Immigration Firm', 100_000],
      [SECOND_ORG, 'Acme Corp', 10_000],
    ] as const) {
      const pair = await generateKeyPair(keysDir, id);
      first.push({ id, name, sshPublicKeys: [pair.publicKey], allowedRecords });
    }
    writeFileSync(file, `${JSON.stringify(first, null, 2)}\n`);
  }
  const orgs = parseOrganizations(JSON.parse(readFileSync(file, 'utf8')), file);
  const keys = new Map(orgs.map((o) => [o.id, resolve(keysDir, o.id)]));
  return { orgs, keys };
}

function readOrCreateSecret(file: string): string {
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

async function port(name: keyof typeof DEFAULT_PORTS, options: TwinOptions): Promise<number> {
  const wanted =
    options.ports?.[name] ?? Number(process.env[`INTEGRATOR_${name.toUpperCase()}_PORT`] ?? DEFAULT_PORTS[name]);
  return wanted === 0 ? freePort() : wanted;
}

export async function startTwin(options: TwinOptions): Promise<Twin> {
  const log = options.log ?? (() => {});
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const stoppers: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
  };

  try {
    // A twin killed with its children alive (kill -9 of its own process only) left a DynamoDB Local on this folder.
    await endLeftovers(stateDir, log);
    const db = await startDynamoDbLocal({ dbPath: join(stateDir, 'dynamodb'), port: await port('dynamodb', options) });
    stoppers.push(db.stop);
    if (db.pid) recordChildren(stateDir, [{ pid: db.pid, marker: 'DynamoDBLocal.jar' }]);
    await ensureTables(localDynamoDbClient(db.endpoint, db.region), tables, (t) => t.id);
    // Kept tables from before the sharded index: their records re-keyed (and numbered), resumably; at once when done.
    await migrateRecordsIndex(dynamoDbDocumentClient({ region: db.region, dynamodbEndpoint: db.endpoint }), {
      table: 'Records',
    });

    const s3 = await startLocalS3({
      directory: join(stateDir, 's3'),
      bucket: LOCAL_BUCKET,
      port: await port('s3', options),
    });
    stoppers.push(s3.stop);

    // The handlers read their configuration from the environment, exactly as CDK sets it for the Lambdas.
    process.env.AWS_REGION = db.region;
    process.env.INTEGRATOR_DYNAMODB_ENDPOINT = db.endpoint;
    process.env.INTEGRATOR_S3_ENDPOINT = s3.endpoint;
    process.env.INTEGRATOR_BUCKET = LOCAL_BUCKET;
    for (const t of tables) process.env[tableEnvName(t.id)] = t.id;
    process.env.POWERTOOLS_SERVICE_NAME ??= 'integrator-local';
    process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'Integrator';
    const clientConfig: ClientConfig = { region: db.region, dynamodbEndpoint: db.endpoint, s3Endpoint: s3.endpoint };
    // The stack's event bus in AWS (lib/aws/events.ts): here in-process, each event also a file under events/.
    const eventBus = new LocalEventBus(join(stateDir, 'events'));
    const unregisterBus = eventBus.register(LOCAL_EVENT_BUS);
    stoppers.push(async () => unregisterBus());
    process.env.EVENT_BUS_NAME = LOCAL_EVENT_BUS;

    const { orgs, keys } = await loadOrganizations(stateDir);
    const documents = dynamoDbDocumentClient(clientConfig);
    // A kept ledger's entries written pending before the byPending index existed are put into it (once; idempotent).
    const { stampPendingEntries } = await import('../../functions/adapters/dynamodb-files.ts');
    await stampPendingEntries(documents, 'Files');
    // Organizations are data (the Organizations table), created and changed through the operator route; the file
    // only bootstraps the ones a first start makes, through the same code (`createOrganization`), as the CDK
    // context does in AWS (`npm run org -- sync`).
    const organizations = dynamoDbOrganizations(documents);
    const admin: OrganizationAdminDeps = {
      organizations,
      sftpUsers: tableReadSftpUsers,
      data: organizationData(documents, s3Client(clientConfig), { bucket: LOCAL_BUCKET }),
      now: () => new Date(),
    };
    for (const org of orgs) {
      // Made before (createdAt set): the table is what counts now, not the file. An item of an older release
      // (no createdAt) is adopted, its billing counters kept.
      if ((await organizations.get(org.id))?.createdAt) continue;
      const checked = checkNewOrganization(org);
      if (!checked.ok) throw new Error(checked.problems.map((p) => p.message).join('; '));
      await createOrganization(admin, checked.value);
      await seedFirstJob(documents, org.id);
    }
    if (orgs.some((o) => o.id === DEMO_ORG)) {
      await seedExportJobs(documents, DEMO_ORG, 'America/Los_Angeles');
      // Thousands of records take DynamoDB Local a few minutes on a first start: the stack is usable meanwhile
      // (an export started before the end sees what is written so far); later starts find the data and skip.
      const seeding = seedDemoRecords(documents, DEMO_ORG).then(
        (seeded) => seeded && log({ level: 'INFO', message: 'demo records seeded', org: DEMO_ORG }),
        (err) => log({ level: 'ERROR', message: 'demo records not seeded', error: String(err) }),
      );
      stoppers.push(() => seeding);
    }
    const exportRuns = await startExportRunsQueue(stateDir, log);
    stoppers.push(exportRuns.stop);

    const importHandler = (await import('../../functions/handlers/import-file.ts')).handler as SqsHandler;
    // The AWS queue's settings; its messages are kept on disk, so a run cut off by a crash resumes after a restart.
    const importQueue = new LocalQueue({
      name: 'import-queue',
      handler: importHandler,
      delayMs: options.settleMs ?? Number(process.env.INTEGRATOR_SETTLE_MS ?? 0),
      visibilityTimeoutMs: IMPORT_QUEUE_SETTINGS.visibilityTimeoutSeconds * 1000,
      maxReceiveCount: IMPORT_QUEUE_SETTINGS.maxReceiveCount,
      maxConcurrency: IMPORT_QUEUE_SETTINGS.maxConcurrency,
      stateFile: join(stateDir, 'queues', 'import-queue.json'),
      onError: (err, ids) => log({ level: 'ERROR', message: 'import handler failed', error: String(err), ids }),
    });
    stoppers.push(() => importQueue.close());
    // A paused import continues through this queue at once, as the Lambda does through SQS (IMPORT_QUEUE_URL).
    process.env.IMPORT_QUEUE_URL = importQueue.url;
    const unregister = acceptContinuations(importQueue);
    stoppers.push(async () => unregister());
    // The bucket's notification configuration in AWS (lib/aws/import-pipeline.ts): copies under inbound/ (an SFTP
    // rename) go to the import queue; uploads arrive through the SFTP server's events below.
    s3.onEvent((event: S3Event) => {
      for (const record of event.Records) {
        if (record.eventName === 'ObjectCreated:Copy' && record.s3.object.key.startsWith('inbound/')) {
          importQueue.send(JSON.stringify({ Records: [record] }));
        }
      }
    });

    const hostKeyPath = join(stateDir, 'keys', 'ssh_host_ed25519_key');
    const sftp = await startSftpServer({
      host: '127.0.0.1',
      port: await port('sftp', options),
      hostKeyPath,
      // Transfer Family's service-managed users, as the twin keeps them: the organization's item, read at each login.
      users: {
        async lookup(username) {
          const org = orgOfSftpUser(username);
          const found = org ? await organizations.get(org) : undefined;
          if (!found || found.status === 'deleting') return undefined;
          return {
            username,
            org: found.id,
            publicKeys: found.sshKeys.map((k) => k.body),
            suspended: found.status === 'suspended',
          };
        },
      },
      s3: s3Client(clientConfig),
      bucket: LOCAL_BUCKET,
      log,
      // The EventBridge rule in AWS: Transfer Family's upload events of this server go to the import queue.
      onUploadEvent: (event) => {
        if (parseObjectKeyArea(event.detail['file-path']) !== 'inbound') return;
        // Fault switches (lib/local/faults.ts): an event lost or delivered twice, as AWS may.
        if (takeFault(stateDir, 'drop-next-upload-event')) {
          log({ level: 'WARN', message: 'fault switch: upload event dropped', file: event.detail['file-path'] });
          return;
        }
        if (takeFault(stateDir, 'double-next-upload-event')) {
          log({ level: 'WARN', message: 'fault switch: upload event doubled', file: event.detail['file-path'] });
          importQueue.send(JSON.stringify(event));
        }
        importQueue.send(JSON.stringify(event));
      },
    });
    stoppers.push(sftp.stop);
    const knownHostsPath = join(stateDir, 'known_hosts');
    writeFileSync(knownHostsPath, await knownHostsLine(hostKeyPath, sftp.host, sftp.port));

    // The sweep's schedule in AWS (lib/aws/sweep.ts): a timer here, the same handler. Objects settle for a minute
    // locally (10 in AWS) unless INTEGRATOR_SWEEP_SETTLE_MS says otherwise.
    process.env.INTEGRATOR_SWEEP_SETTLE_MS ??= '60000';
    const sweepIntervalMs = options.sweepIntervalMs ?? Number(process.env.INTEGRATOR_SWEEP_INTERVAL_MS ?? 60_000);
    if (sweepIntervalMs > 0) {
      const { createSweepHandler } = await import('../../functions/handlers/sweep.ts');
      const sweep = createSweepHandler();
      let running: Promise<unknown> | undefined;
      const timer = setInterval(() => {
        // One at a time here (in AWS two may overlap, harmlessly: the ledger's claim imports a version once).
        running ??= sweep()
          .catch((err) => log({ level: 'ERROR', message: 'sweep failed', error: String(err) }))
          .finally(() => {
            running = undefined;
          });
      }, sweepIntervalMs);
      stoppers.push(async () => {
        clearInterval(timer);
        await running;
      });
    }
    // Scheduled and requested runs: EventBridge Scheduler (and run now) -> the job-runs queue -> scheduled-run handler.
    const scheduledRunHandler = (await import('../../functions/handlers/scheduled-run.ts')).handler as SqsHandler;
    const jobRunsQueue = new LocalQueue({
      name: 'job-runs-queue',
      handler: scheduledRunHandler,
      delayMs: 0,
      stateFile: join(stateDir, 'queues', 'job-runs-queue.json'),
      onError: (err, ids) => log({ level: 'ERROR', message: 'scheduled-run handler failed', error: String(err), ids }),
    });
    stoppers.push(() => jobRunsQueue.close());
    process.env.JOB_RUNS_QUEUE_URL = jobRunsQueue.url;
    const unregisterJobRuns = acceptContinuations(jobRunsQueue);
    stoppers.push(async () => unregisterJobRuns());
    const scheduler = new LocalScheduler({ send: (body) => void jobRunsQueue.send(body), log });
    stoppers.push(() => scheduler.stop());

    const issuer = localIssuer(readOrCreateSecret(join(stateDir, 'api-secret')));
    const { createApi } = await import('../../functions/api/app.ts');
    const { dynamoDbRunReports } = await import('../../functions/adapters/dynamodb-reports.ts');
    const { dynamoDbJobs } = await import('../../functions/adapters/dynamodb-jobs.ts');
    // No STS locally: the stores run on the twin's own client (in AWS, on credentials scoped to the organization).
    const { dynamoDbBillingReports } = await import('../../functions/adapters/dynamodb-organizations.ts');
    const stores = {
      reports: dynamoDbRunReports(documents),
      jobs: dynamoDbJobs(documents),
      billing: dynamoDbBillingReports(documents),
      organizations,
    };
    // The schedules EventBridge would keep: rebuilt from the jobs, then kept in step by the API's saves.
    for (const org of await organizations.list()) {
      for (const job of await stores.jobs.all(org.id)) await scheduler.sync(job);
    }
    admin.scheduler = scheduler;
    scheduler.start();
    const { jobRunRequestsFromEnv } = await import('../../functions/adapters/job-run-requests.ts');
    const runRequests = jobRunRequestsFromEnv();
    const apiPort = await port('api', options);
    // The twin's mail goes to .eml files in the mailbox folder: set before the handlers that send are built.
    process.env.INTEGRATOR_MAIL_DIR ??= join(stateDir, 'mail');
    process.env.NOTIFY_FROM ??= 'integrator@localhost';
    // Calendar sync: the vault's local key, the demo calendar, the events stream's poller driving the push.
    const { startLocalCalendar } = await import('./calendar.ts');
    const calendar = await startLocalCalendar({
      stateDir,
      documents,
      dynamodbEndpoint: db.endpoint,
      region: db.region,
      apiPort,
      ...(orgs.some((o) => o.id === DEMO_ORG)
        ? {
            demo: {
              org: DEMO_ORG,
              managers: [
                ...demoUsers(DEMO_ORG)
                  .filter((u) => u.role === 'case_manager')
                  .map((u) => ({ userId: localSubject(u.email), email: u.email, name: u.name })),
                {
                  userId: localSubject(`manager2@${DEMO_ORG}.example.com`),
                  email: `manager2@${DEMO_ORG}.example.com`,
                  name: 'Second case manager',
                },
              ],
            },
          }
        : {}),
      log,
    });
    stoppers.push(calendar.stop);
    const app = createApi({
      storesFor: () => stores,
      authenticate: localAuthenticate(issuer),
      scheduler,
      ...(runRequests ? { runRequests } : {}),
      calendarFor: calendar.calendarFor,
      calendarRedirectUri: calendar.redirectUri,
    });
    // The operator route (IAM-authorized in AWS, its own function): here the operator credential of stack.json.
    const operatorToken = readOrCreateSecret(join(stateDir, 'operator-secret'));
    const { createOperatorApi } = await import('../../functions/api/organizations-routes.ts');
    const { localOperatorAuthenticate } = await import('./local-auth.ts');
    const operatorApp = createOperatorApi({
      admin,
      authenticate: localOperatorAuthenticate(operatorToken),
      log: (entry) => log(entry),
    });
    const fetch = (request: Request) =>
      new URL(request.url).pathname.startsWith('/operator/') ? operatorApp.fetch(request) : app.fetch(request);
    const server = await new Promise<ReturnType<typeof serve>>((ready) => {
      const s = serve({ fetch, port: apiPort, hostname: '127.0.0.1' }, () => ready(s));
    });
    stoppers.push(() => new Promise((done) => server.close(() => done(undefined))));
    const address = server.address();
    const boundApiPort = typeof address === 'object' && address ? address.port : apiPort;

    const users = orgs.flatMap((o) =>
      demoUsers(o.id).map((u) => ({
        org: u.org,
        email: u.email,
        name: u.name,
        role: u.role!,
        token: issuer.issueFor(u),
      })),
    );
    // The run watch: an EventBridge rule invokes it every 5 minutes in AWS (lib/aws/operations.ts); here a timer
    // (INTEGRATOR_RUN_WATCH_MS, default 60 s). Its e-mails are .eml files in the mailbox folder.
    process.env.REPORTS_URL ??= `http://127.0.0.1:${boundApiPort}`;
    // Missed firings are judged by the scheduler's clock (a test moves it past a firing it does not fire).
    const { createRunWatchHandler, watchDepsFromEnv } = await import('../../functions/handlers/run-watch.ts');
    const watch = createRunWatchHandler(() => {
      const deps = watchDepsFromEnv();
      return deps.missedFirings
        ? { ...deps, missedFirings: { ...deps.missedFirings, clock: { now: () => scheduler.currentTime() } } }
        : deps;
    });
    const watchEveryMs = Number(process.env.INTEGRATOR_RUN_WATCH_MS ?? 60_000);
    let watching = false;
    const watchTimer = setInterval(() => {
      if (watching) return;
      watching = true;
      watch({})
        .catch((err: unknown) => log({ level: 'ERROR', message: 'run watch failed', error: String(err) }))
        .finally(() => {
          watching = false;
        });
    }, watchEveryMs);
    stoppers.push(async () => clearInterval(watchTimer));
    const control = process.env.INTEGRATOR_TWIN_CONTROL === '1' ? await startControl(scheduler) : undefined;
    if (control) stoppers.push(control.stop);

    const info: StackInfo = {
      sftp: {
        host: sftp.host,
        port: sftp.port,
        knownHostsPath,
        users: orgs.map((o) => ({ org: o.id, username: sftpUserName(o.id), privateKeyPath: keys.get(o.id) ?? '' })),
      },
      api: {
        url: `http://127.0.0.1:${boundApiPort}`,
        tokens: Object.fromEntries(users.filter((u) => u.role === 'firm_admin').map((u) => [u.org, u.token])),
        users,
      },
      operator: { url: `http://127.0.0.1:${boundApiPort}/operator/v1`, token: operatorToken },
      dynamodb: { endpoint: db.endpoint, region: db.region },
      s3: { endpoint: s3.endpoint, bucket: LOCAL_BUCKET },
      ...(control ? { control: { url: control.url } } : {}),
      calendar: calendar.standins,
    };
    writeFileSync(join(stateDir, 'stack.json'), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    return {
      info,
      importQueue,
      jobRunsQueue,
      exportRunsQueue: exportRuns.queue,
      scheduler,
      events: eventBus,
      clientConfig,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The tests' handle on the scheduler's clock (a DST day is driven, not waited for). */
async function startControl(scheduler: LocalScheduler): Promise<{ url: string; stop: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      let at: Date | undefined;
      try {
        at = new Date((JSON.parse(body) as { at: string }).at);
      } catch {
        at = undefined;
      }
      if (!at || Number.isNaN(at.getTime()) || req.method !== 'POST') return answer(400, { error: 'POST {"at": ISO}' });
      const action =
        req.url === '/scheduler/jump'
          ? scheduler.jumpTo(at)
          : req.url === '/scheduler/advance'
            ? scheduler.advanceTo(at)
            : undefined;
      if (!action) return answer(404, { error: 'no such control' });
      action.then(
        () => answer(200, { at: at.toISOString() }),
        (err) => answer(500, { error: String(err) }),
      );
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((done) => server.close(() => done())),
  };
}

/** `inbound` for `/<bucket>/inbound/...`: the rule's filter on the file path. */
function parseObjectKeyArea(filePath: string): string | undefined {
  return filePath.split('/')[2];
}
