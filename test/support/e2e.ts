/**
 * What every e2e test of the twin needs, once: a state folder with organizations and their SFTP keys, the twin
 * started on it (twin-process.ts), the HTTP API with a role's token, the scheduler's test clock, SFTP uploads, the
 * mailbox, and polling until something shows. New e2e tests use these; older ones keep their local copies until they
 * are next touched (the names here are stable: other branches' tests import them).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from './sftp-client.ts';
import { startTwinProcess, type TwinProcess } from './twin-process.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read as a client reads them
export type Json = Record<string, any>;

export interface E2eOrganization {
  id: string;
  name?: string;
  allowedRecords?: number;
  contacts?: string[];
}

export interface E2eTwin {
  twin: TwinProcess;
  stateDir: string;
  /** Stops the twin and removes its state folder. */
  close(): Promise<void>;
}

/** A fresh state folder with the organizations (each with an SFTP key), and the twin started on it. */
export async function startE2eTwin(
  prefix: string,
  organizations: readonly E2eOrganization[],
  env: Record<string, string> = {},
): Promise<E2eTwin> {
  const stateDir = mkdtempSync(join(tmpdir(), `integrator-e2e-${prefix}-`));
  const keysDir = join(stateDir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const configs = [];
  for (const o of organizations) {
    const pair = await generateKeyPair(keysDir, o.id);
    configs.push({
      id: o.id,
      name: o.name ?? o.id,
      sshPublicKeys: [pair.publicKey],
      allowedRecords: o.allowedRecords ?? 1000,
      ...(o.contacts ? { contacts: o.contacts } : {}),
    });
  }
  writeFileSync(join(stateDir, 'organizations.json'), JSON.stringify(configs));
  const twin = await startTwinProcess(stateDir, env);
  return {
    twin,
    stateDir,
    close: async () => {
      await twin.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The twin's HTTP API as one organization's firm admin (or the given token). */
export function twinApi(twin: TwinProcess, org: string, token = twin.info.api.tokens[org]) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${twin.info.api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
}

/** Polls `probe` until it gives a value; fails naming `what`, with the twin's latest output. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { ms?: number; everyMs?: number; twin?: TwinProcess } = {},
): Promise<T> {
  const ms = options.ms ?? 30_000;
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      assert.fail(`${what} after ${ms / 1000} s:\n${options.twin?.output().slice(-3000) ?? ''}`);
    await new Promise((r) => setTimeout(r, options.everyMs ?? 250));
  }
}

/**
 * The twin's scheduler clock (INTEGRATOR_TWIN_CONTROL=1): `jump` moves it without firing (a scheduler that was
 * stopped), `advance` fires every run in between.
 */
export async function schedulerClock(twin: TwinProcess, action: 'jump' | 'advance', at: Date): Promise<void> {
  const url = twin.info.control?.url;
  assert.ok(url, 'the twin exposes its test control (INTEGRATOR_TWIN_CONTROL=1)');
  const res = await fetch(`${url}/scheduler/${action}`, { method: 'POST', body: JSON.stringify({ at }) });
  assert.equal(res.status, 200, await res.text());
}

/** Uploads `content` as `/inbound/<name>` over SFTP as the organization's user. */
export async function uploadOverSftp(twin: TwinProcess, org: string, name: string, content: string): Promise<void> {
  const file = join(twin.stateDir, `upload-${name}`);
  writeFileSync(file, content);
  const user = twin.info.sftp.users.find((u) => u.org === org);
  assert.ok(user, `an SFTP user for ${org}`);
  const out = await runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    knownHostsPath: twin.info.sftp.knownHostsPath,
    commands: [`put ${file} /inbound/${name}`],
  });
  assert.equal(out.code, 0, out.stderr);
}

/** The twin's mailbox (.eml files under the state folder's mail/). */
export function mailbox(stateDir: string) {
  const dir = join(stateDir, 'mail');
  const files = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml')) : []);
  return {
    files,
    read: (name: string) => readFileSync(join(dir, name), 'utf8'),
    /** The e-mails whose text contains `needle`. */
    matching: (needle: string) => files().filter((f) => readFileSync(join(dir, f), 'utf8').includes(needle)),
  };
}
