/**
 * The heartbeat of a file's claim. A claim in the Files ledger is a short lease (minutes, ReceiveDeps.leaseMs) so that
 * when its holder dies (a crash, kill -9, a Lambda that timed out) the next delivery of the file's message retakes it
 * within minutes and resumes the run from its checkpoint. A live holder keeps it by renewing it as its run makes
 * progress: renewal is driven by the work (between batches, during the census), not by a timer, so a holder that is
 * stuck stops renewing and its file is taken over rather than waiting for it.
 *
 * Renewal is one conditional write, made once a third of the lease has passed; in between `keep` costs nothing. A
 * renewal that finds the claim taken over says so: the caller stops before it writes anything more, so two holders
 * never work on one file side by side (a holder paused longer than its lease finds out at its next batch).
 */
import type { Clock, FileEntry, FileLedger } from '../ports.ts';

export interface ClaimKeeper {
  /**
   * True while this caller holds the claim (renewing it when due); false once another delivery has taken it over.
   * Ask before each unit of work that writes.
   */
  keep(): Promise<boolean>;
}

export interface ClaimKeeperOptions {
  ledger: Pick<FileLedger, 'renew'>;
  /** The entry as claimed: its org, fileId and `claims` identify the holder; its leaseUntil is the current lease. */
  entry: FileEntry;
  clock: Clock;
  leaseMs: number;
}

/** Renewed once this share of the lease has passed: a holder always has two thirds of a lease to finish a batch. */
const RENEW_AFTER = 1 / 3;

export function claimKeeper(options: ClaimKeeperOptions): ClaimKeeper {
  const { ledger, entry, clock, leaseMs } = options;
  return leaseKeeper({ renew: (until) => ledger.renew(entry, until), leaseUntil: entry.leaseUntil, clock, leaseMs });
}

/** The same heartbeat over any lease (a range's, import-ranges.ts): `renew` is its one conditional write. */
export function leaseKeeper(options: {
  renew: (leaseUntil: number) => Promise<boolean>;
  leaseUntil: number;
  clock: Clock;
  leaseMs: number;
}): ClaimKeeper {
  const { renew, clock, leaseMs } = options;
  let leaseUntil = options.leaseUntil;
  let lost = false;
  return {
    async keep() {
      if (lost) return false;
      const now = clock.now().getTime();
      if (now < leaseUntil - leaseMs * (1 - RENEW_AFTER)) return true;
      const next = now + leaseMs;
      if (!(await renew(next))) {
        lost = true;
        return false;
      }
      leaseUntil = next;
      return true;
    },
  };
}
