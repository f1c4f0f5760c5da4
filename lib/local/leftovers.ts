/**
 * Processes the twin started that outlived it. DynamoDB Local is a Java child process: when the twin's own process is
 * killed (kill -9, a crash), nothing ends it, and a second DynamoDB Local on the same database folder must not run
 * beside it. The twin records its children's ids in the state folder and, when it starts on that folder again, ends
 * those still running — only if the process is still the one recorded (its command line names what was started), so
 * a reused process id is never touched.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Recorded {
  pid: number;
  /** A part of the command line the process had (e.g. `DynamoDBLocal.jar`). */
  marker: string;
}

const FILE = 'children.json';

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** Ends the recorded children still running (SIGKILL: their state is on disk, as after a crash) and waits for them. */
export async function endLeftovers(stateDir: string, log: (entry: Record<string, unknown>) => void): Promise<void> {
  const file = join(stateDir, FILE);
  if (!existsSync(file)) return;
  let recorded: Recorded[] = [];
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as Recorded[];
  } catch {
    // unreadable: nothing to end
  }
  for (const { pid, marker } of recorded) {
    if (!commandLine(pid)?.includes(marker)) continue;
    log({ level: 'WARN', message: 'ending a process left by an earlier run of the twin', pid, marker });
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    // A zombie (killed, not yet reaped) has an empty command line: gone as far as its files and ports go.
    while (commandLine(pid)?.includes(marker) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  rmSync(file, { force: true });
}

export function recordChildren(stateDir: string, children: Recorded[]): void {
  writeFileSync(join(stateDir, FILE), `${JSON.stringify(children)}\n`);
}
