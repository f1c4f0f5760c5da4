/**
 * Starts `npm start`'s entry point (bin/local.ts) as a child process, as a developer would, with its state in a
 * temporary folder and every port chosen freely, and waits until it has written stack.json.
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
}

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
  };
}
