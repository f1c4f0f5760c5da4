/**
 * The real OpenSSH clients (`sftp -b`, `scp`) against a local SFTP server, as a customer would run them: a key file,
 * no known_hosts, no agent, no user configuration, non-interactive. Every run has a hard timeout.
 */
import { spawn } from 'node:child_process';

export interface SshTarget {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  username: string;
  privateKeyPath: string;
  /** Check the server's host key against this known_hosts file (what `npm start` writes); otherwise not checked. */
  knownHostsPath?: string;
}

export interface CommandResult {
  /** Exit code; null when killed (see timedOut). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function sshOptions(target: SshTarget): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    target.privateKeyPath,
    '-o',
    target.knownHostsPath ? 'StrictHostKeyChecking=yes' : 'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${target.knownHostsPath ?? '/dev/null'}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'KbdInteractiveAuthentication=no',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    '-P',
    String(target.port),
  ];
}

function destination(target: SshTarget): string {
  return `${target.username}@${target.host ?? '127.0.0.1'}`;
}

export function runCommand(
  command: string,
  args: string[],
  input: string | undefined,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

export interface SftpBatchOptions extends SshTarget {
  /** Batch lines, e.g. `put local.csv /inbound/x.csv`. Quote names with spaces: `put "a b.csv" "/inbound/a b.csv"`. */
  commands: string[];
  timeoutMs?: number;
}

/**
 * Runs `sftp -b -` with the given batch lines. A line prefixed with `-` may fail without stopping the batch; any
 * other failing line stops it with exit code 1. stdout echoes each line as `sftp> line` before its output.
 */
export function runSftpBatch(options: SftpBatchOptions): Promise<CommandResult> {
  const input = `${options.commands.join('\n')}\n`;
  return runCommand('sftp', [...sshOptions(options), '-b', '-', destination(options)], input, options.timeoutMs);
}

export interface ScpOptions extends SshTarget {
  timeoutMs?: number;
}

/** `scp` of local files to a remote path (OpenSSH 9's scp speaks SFTP by default). */
export function runScpUpload(
  options: ScpOptions & { localPaths: string[]; remotePath: string },
): Promise<CommandResult> {
  const args = [...sshOptions(options), '-q', ...options.localPaths, `${destination(options)}:${options.remotePath}`];
  return runCommand('scp', args, undefined, options.timeoutMs);
}

/** `scp` of a remote file to a local path. */
export function runScpDownload(
  options: ScpOptions & { remotePath: string; localPath: string },
): Promise<CommandResult> {
  const args = [...sshOptions(options), '-q', `${destination(options)}:${options.remotePath}`, options.localPath];
  return runCommand('scp', args, undefined, options.timeoutMs);
}
