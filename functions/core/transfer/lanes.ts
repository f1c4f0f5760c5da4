/**
 * Arrival lanes: the files of one organization and one template are imported in the order they arrived, each after
 * the previous one's run has ended, so a corrected file uploaded seconds after a wrong one is applied after it.
 *
 * - A file gets its arrival number when it is first claimed (FileLedger.enterLane: one transaction, so every number
 *   belongs to a file). The lane's `turn` is the number allowed to import; a file's run, once settled, passes the turn
 *   on to the next number.
 * - A file whose number is above the turn waits: it is not imported, its claim is released and its message comes back
 *   later (the handler sends it again with a delay). Nothing spins and nothing is lost: every retry looks again.
 * - A holder that will not pass the turn (its invocation crashed, or it was never retried) must not block the lane
 *   forever: once its lease has expired and it has not been touched for `graceMs`, the next file moves the turn on.
 *   Should the crashed file resume later, it runs behind the newer one; the records' arrival guard
 *   (RecordWrite.arrival) keeps its older rows from overwriting the newer file's. Until it has finished, its number
 *   stays in the lane's `skipped` list, and the files after it record their number on unchanged rows as well.
 * - The grace covers the short gaps in which a live holder's claim is released on purpose: a run paused for lack of
 *   time (its continuation retakes the claim within seconds) and a file waiting for its retry. It must therefore be
 *   longer than the waiting retry delay.
 */
import type { FileEntry, FileLedger } from '../ports.ts';

/**
 * `guardUnchanged`: an older file of the lane was passed over unfinished and may still resume: this file's unchanged
 * rows must record its arrival number too (RecordWrite.touch), or that older file could put its data over them.
 */
export type TurnDecision = { go: true; guardUnchanged: boolean } | { go: false; turn: number; holder: FileEntry };

/** True when the holder of the turn has let it go: its run ended, or it is not being worked on and has gone quiet. */
export function turnReleased(holder: FileEntry, now: number, graceMs: number): boolean {
  if (holder.status !== 'processing') return true;
  if (holder.leaseUntil >= now) return false;
  const touched = Date.parse(holder.updatedAt);
  return !(touched + graceMs >= now);
}

/**
 * Whether the entry (which has its lane and number) may import now. Moves a released turn on (possibly several
 * steps); each step is a conditional write, so concurrent callers agree.
 */
export async function awaitTurn(
  ledger: FileLedger,
  entry: FileEntry & { lane: string; seq: number },
  now: number,
  graceMs: number,
): Promise<TurnDecision> {
  for (;;) {
    const { turn, holder, skipped = [] } = await ledger.laneTurn(entry.org, entry.lane);
    // At or past the turn: its turn has come (or passed, when it resumes after others skipped it while it was down).
    if (entry.seq <= turn) return { go: true, guardUnchanged: skipped.some((s) => s < entry.seq) };
    if (holder && !turnReleased(holder, now, graceMs)) return { go: false, turn, holder };
    await ledger.passTurn(entry.org, entry.lane, turn, holder?.status === 'processing');
  }
}
