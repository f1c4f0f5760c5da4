/**
 * Fault switches of the twin, for tests and demonstrations of what the system does when AWS loses or doubles an
 * event (documented in the README's sweep section). A switch is an empty file in `<state dir>/faults/`; the twin
 * takes it (deletes it) when it applies, so each file stands for exactly one occurrence:
 * - `drop-next-upload-event`: the next SFTP upload event into inbound/ is not delivered to the import queue (as a
 *   lost Transfer Family event); the sweep must find the file.
 * - `double-next-upload-event`: the next one is delivered twice (as EventBridge's at-least-once delivery may).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Fault = 'drop-next-upload-event' | 'double-next-upload-event';

export function faultsDir(stateDir: string): string {
  return join(stateDir, 'faults');
}

/** Arms a switch (what a test does; `touch .local/faults/<name>` does the same). */
export function armFault(stateDir: string, fault: Fault): void {
  mkdirSync(faultsDir(stateDir), { recursive: true });
  writeFileSync(join(faultsDir(stateDir), fault), '');
}

/** True, once, when the switch is armed: it is taken (deleted) at the same time. */
export function takeFault(stateDir: string, fault: Fault): boolean {
  try {
    rmSync(join(faultsDir(stateDir), fault));
    return true;
  } catch {
    return false;
  }
}
