/**
 * Starts `npm start`'s entry point (bin/local.ts) as a child process, as a developer would, with its state in a
 * temporary folder and every port chosen freely, and waits until it has written stack.json. The child leads its own
 * process group (with DynamoDB Local's Java process in it), so `crash()` can kill the whole stack at once, as an
 * operator's `kill -9` of the group does; a test run that ends leaves no running twin behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StackInfo } from '../../lib/local/twin.ts';

export interface TwinProcess {
  info: StackInfo;
  stateDir: string;
  output(): string;
  stop(): Promise<number | null>;
  /** SIGKILL to every process of the stack (its process group), at once; resolves once the twin's process is gone. */
  crash(): Promise<void>;
  /** SIGKILL to the twin's own process only: its children (DynamoDB Local) are left running, orphaned. */
  crashAlone(): Promise<void>;
}

const groups = new Set<number>();
process.once('exit', () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startTwinProcess(stateDir: string, env: Record<string, string> = {}): Promise<TwinProcess> {
  const stackFile = join(stateDir, 'stack.json');
  rmSync(stackFile, { force: true });
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
    env: {
      ...process.env,
      INTEGRATOR_STATE_DIR: stateDir,
      INTEGRATOR_SFTP_PORT: '0',
      INTEGRATOR_API_PORT: '0',
      INTEGRATOR_DYNAMODB_PORT: '0',
      INTEGRATOR_S3_PORT: '0',
      INTEGRATOR_SETTLE_MS: '300',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid) groups.add(pid);
  child.once('exit', () => {
    if (pid) groups.delete(pid);
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const deadline = Date.now() + 60_000;
  while (!existsSync(stackFile) || !output.includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null) throw new Error(`the twin exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the twin did not start within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    info: JSON.parse(readFileSync(stackFile, 'utf8')) as StackInfo,
    stateDir,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGINT');
      }),
    crash: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        if (pid) process.kill(-pid, 'SIGKILL');
      }),
    crashAlone: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
