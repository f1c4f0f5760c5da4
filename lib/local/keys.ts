/**
 * SSH keys for the local SFTP server and its users, made with OpenSSH's own `ssh-keygen` so the files are exactly
 * what a customer's client would use (OpenSSH private key format, `ssh-ed25519 AAAA… comment` public key).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface GeneratedKeyPair {
  /** The private key file (mode 0600), usable as `sftp -i <privateKeyPath>`. */
  privateKeyPath: string;
  /** The OpenSSH public key line, e.g. `ssh-ed25519 AAAA… name`. */
  publicKey: string;
}

function sshKeygen(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ssh-keygen', args, { timeout: 15_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new Error(
          missing
            ? 'ssh-keygen was not found: install the OpenSSH client to generate keys'
            : `ssh-keygen failed: ${String(stderr).trim() || error.message}`,
        ),
      );
    });
  });
}

async function createEd25519(privateKeyPath: string, comment: string): Promise<void> {
  await mkdir(dirname(privateKeyPath), { recursive: true });
  // ssh-keygen asks before overwriting; a half-written pair from an interrupted run is replaced instead.
  await rm(privateKeyPath, { force: true });
  await rm(`${privateKeyPath}.pub`, { force: true });
  await sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKeyPath]);
}

/**
 * An ed25519 key pair at `<dir>/<name>` and `<dir>/<name>.pub`. An existing complete pair is reused, so a demo
 * organization keeps its key across runs; otherwise a new one is generated.
 */
export async function generateKeyPair(dir: string, name: string): Promise<GeneratedKeyPair> {
  if (name === '' || basename(name) !== name || name.startsWith('.')) {
    throw new Error(`key name "${name}" must be a plain file name`);
  }
  const privateKeyPath = join(dir, name);
  if (!existsSync(privateKeyPath) || !existsSync(`${privateKeyPath}.pub`)) {
    await createEd25519(privateKeyPath, name);
  }
  const publicKey = (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim();
  return { privateKeyPath, publicKey };
}

/** The server's host private key: generated once at `path`, then reused so clients see the same host key. */
export async function ensureHostKey(path: string): Promise<Buffer> {
  if (!existsSync(path)) await createEd25519(path, 'integrator-local-sftp-host');
  return readFile(path);
}

/**
 * The known_hosts line that lets OpenSSH check the local SFTP server without asking (`[host]:port type key`): the
 * README's commands pass it as UserKnownHostsFile, so a new host key (after `.local/` was deleted) never meets a stale
 * entry in the developer's own ~/.ssh/known_hosts.
 */
export async function knownHostsLine(hostKeyPath: string, host: string, port: number): Promise<string> {
  const [type, key] = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim().split(/\s+/);
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${type} ${key}\n`;
}
