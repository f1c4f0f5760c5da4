/**
 * A local SFTP server that behaves like AWS Transfer Family with service-managed users and S3 storage: public-key
 * logins, one user per organization, a logical home of `/inbound`, `/archive` and `/outbound` mapped to the
 * organization's prefixes (functions/core/transfer/layout.ts), every file stored through the S3 API.
 *
 * Like Transfer Family, an upload the client never closed is stored anyway; it is tagged `integrator-upload=partial`
 * here, which is what the OnPartialUpload workflow of the CDK app does in AWS. Each upload's end is announced as
 * Transfer Family announces it (`onUploadEvent`, sftp/upload-events.ts): Completed on a clean close, Failed on a
 * dropped connection or a failed write; the twin routes them to the import queue as the EventBridge rule does.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import ssh2, { type AuthContext, type Connection, type ParsedKey } from 'ssh2';
import { isValidOrgId } from '../../functions/core/transfer/layout.ts';
import { ensureHostKey } from './keys.ts';
import { S3Store } from './sftp/s3-store.ts';
import { type SessionContext, SftpSession } from './sftp/session.ts';
import type { UploadEventSink } from './sftp/upload-events.ts';

export { PARTIAL_UPLOAD_TAG } from './sftp/session.ts';

export interface SftpUser {
  username: string;
  org: string;
  /** OpenSSH public keys (`ssh-ed25519 AAAA… comment`) allowed to log in as this user. */
  publicKeys: string[];
  /** The organization is suspended: every login is refused (its keys and files are kept). */
  suspended?: boolean;
}

/** A log entry: `event` names what happened; the other fields depend on it. Never holds key material. */
export interface SftpLogEntry {
  time: string;
  component: 'sftp';
  event: string;
  [field: string]: unknown;
}

export interface SftpServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 or undefined: a free port. */
  port?: number;
  /** The host private key; generated (ed25519) if missing, so restarts keep the same host key. */
  hostKeyPath: string;
  /**
   * The users, a function asked at every login for all of them, or one asked at every login for the user of that name
   * (the twin's: the organization's item in the Organizations table, so keys added or removed, suspensions and new
   * organizations apply at the next login, with no restart).
   */
  users:
    | SftpUser[]
    | (() => SftpUser[] | Promise<SftpUser[]>)
    | { lookup(username: string): Promise<SftpUser | undefined> };
  s3: S3Client;
  bucket: string;
  /** Structured entries (session start and end, auth failures, uploads, partial closes); never key material. */
  log?: (entry: SftpLogEntry) => void;
  /** Transfer Family's upload events (Completed, Failed), emitted once each upload's object is stored. */
  onUploadEvent?: UploadEventSink;
}

export interface SftpServer {
  port: number;
  host: string;
  stop(): Promise<void>;
}

/** Transfer Family's identification string: some clients (WinSCP) adapt to it. */
const IDENT = 'AWS_SFTP_1.1';
// ssh2 is CommonJS: Node's ESM loader does not see Server and utils as named exports.
const { Server, utils } = ssh2;
const STOP_GRACE_MS = 5_000;

function fingerprint(data: Buffer): string {
  return `SHA256:${createHash('sha256').update(data).digest('base64').replace(/=+$/, '')}`;
}

function parsePublicKey(line: string): ParsedKey | undefined {
  const parsed = utils.parseKey(line.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key instanceof Error || !key ? undefined : key;
}

export async function startSftpServer(options: SftpServerOptions): Promise<SftpServer> {
  const host = options.host ?? '127.0.0.1';
  const log = (entry: { event: string; [field: string]: unknown }) => {
    try {
      options.log?.({ ...entry, time: new Date().toISOString(), component: 'sftp' });
    } catch {
      // a failing log sink must not break a session
    }
  };
  const hostKey = await ensureHostKey(options.hostKeyPath);
  const stagingDir = await mkdtemp(join(tmpdir(), 'integrator-sftp-'));
  const pending = new Set<Promise<unknown>>();
  const context: SessionContext = {
    store: new S3Store(options.s3, options.bucket),
    stagingDir,
    emptyDirs: new Set(),
    sessions: new Set(),
    log,
    ...(options.onUploadEvent ? { onUploadEvent: options.onUploadEvent } : {}),
    track(work) {
      pending.add(work);
      work.then(
        () => pending.delete(work),
        () => pending.delete(work),
      );
    },
  };

  async function findUser(username: string): Promise<SftpUser | undefined> {
    const source = options.users;
    const user =
      'lookup' in source
        ? await source.lookup(username)
        : (typeof source === 'function' ? await source() : source).find((u) => u.username === username);
    if (user && !isValidOrgId(user.org)) {
      log({ event: 'user_misconfigured', user: username, reason: `invalid organization id` });
      return undefined;
    }
    return user;
  }

  const connections = new Set<Connection>();
  const server = new Server({ hostKeys: [hostKey], ident: IDENT }, (client, info) => {
    connections.add(client);
    const clientAddress = `${info.ip}:${info.port}`;
    let user: SftpUser | undefined;

    client.on('authentication', (ctx: AuthContext) => {
      const fail = (reason: string, fields: Record<string, unknown> = {}) => {
        log({ event: 'auth_failure', user: ctx.username, client: clientAddress, reason, ...fields });
        ctx.reject(['publickey']);
      };
      // OpenSSH starts with "none" to learn the methods: not a failure worth logging.
      if (ctx.method === 'none') return ctx.reject(['publickey']);
      if (ctx.method !== 'publickey') return fail('method_not_allowed', { method: ctx.method });
      const offered = ctx.key;
      findUser(ctx.username).then(
        (found) => {
          if (!found) return fail('unknown_user');
          if (found.suspended) return fail('organization_suspended', { org: found.org });
          const key = found.publicKeys.map(parsePublicKey).find((allowed) => {
            if (!allowed || allowed.type !== offered.algo) return false;
            const data = allowed.getPublicSSH();
            return data.length === offered.data.length && timingSafeEqual(data, offered.data);
          });
          const keyFields = { keyType: offered.algo, keyFingerprint: fingerprint(offered.data) };
          if (!key) return fail('key_not_allowed', keyFields);
          // Without a signature the client only asks whether the key would do.
          if (ctx.signature) {
            if (key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return fail('bad_signature', keyFields);
            user = found;
          }
          ctx.accept();
        },
        (error: unknown) =>
          fail('user_lookup_failed', { error: error instanceof Error ? error.message : String(error) }),
      );
    });

    client.on('ready', () => {
      if (!user) return client.end();
      const session = { username: user.username, org: user.org, client: clientAddress, sessionId: randomUUID() };
      log({ event: 'session_start', user: session.username, org: session.org, client: clientAddress });
      client.on('session', (acceptSession) => {
        const channel = acceptSession();
        channel.on('sftp', (acceptSftp) => {
          new SftpSession(acceptSftp(), session, context);
        });
        // shell, exec (legacy scp), pty and subsystems other than sftp have no listener: ssh2 refuses them.
      });
    });

    client.on('error', (error) => {
      log({ event: 'connection_error', user: user?.username, client: clientAddress, error: error.message });
    });
    client.on('close', () => {
      connections.delete(client);
      if (user) log({ event: 'session_end', user: user.username, org: user.org, client: clientAddress });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  log({ event: 'server_start', host, port });

  let stopped: Promise<void> | undefined;
  return {
    port,
    host,
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const client of connections) client.end();
        // Connections that do not finish their goodbye in time are cut (their open uploads become partial).
        const timer = setTimeout(() => {
          for (const client of connections) (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
        }, STOP_GRACE_MS);
        await closed;
        clearTimeout(timer);
        for (const session of context.sessions) session.finish('server_stop');
        while (pending.size > 0) await Promise.allSettled([...pending]);
        await rm(stagingDir, { recursive: true, force: true });
        log({ event: 'server_stop', host, port });
      })();
      return stopped;
    },
  };
}
