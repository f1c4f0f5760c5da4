/**
 * The sweep: on a schedule, every organization's inbound prefix compared with the arrival ledger (the Files table),
 * so that a file whose upload event was lost (Transfer Family's events and S3's notifications are best-effort) is
 * still imported.
 *
 * Rules (documented in the README's sweep section):
 * - Only the current version of each key under `inbound/<org>/` is looked at; a key the customer deleted (delete
 *   marker) is not. An older version replaced by a newer upload of the same name before anything imported it is not
 *   swept (its newer upload is).
 * - Temporary upload names (`.filepart`, ...) and keys outside an organization's folder are passed over, exactly as
 *   receiveFile ignores them.
 * - Settle age: an object younger than `settleMs` (by its LastModified) is left to its own event. An upload still in
 *   flight is no object yet (Transfer Family and the twin's SFTP server store it when it ends), but a partial upload is
 *   stored first and tagged `integrator-upload=partial` just after (the OnPartialUpload workflow), and its Upload
 *   Failed event records the version as `partial` in the ledger; the settle age gives both time to land, so the sweep
 *   never takes a partial upload for a complete one. Once settled, the tag alone is enough: receiveFile refuses a
 *   tagged object whether its event or the sweep brought it.
 * - An object version the ledger knows (any status: done, partial, refused, processing or waiting for its turn) is the
 *   import's own, with its leases and retries; the sweep leaves it alone. That is also why files that stay in inbound
 *   on purpose (partial uploads, files that are not CSV) are not announced again and again.
 * - A settled version the ledger does not know is announced on the import queue as an arrival of exactly that version
 *   (`arrivalMessage`), and takes the same path as an event: receiveFile claims it in the ledger by the same file id
 *   an event would give it (`fileIdOf`: key and version), so exactly once comes from the ledger's claim, not from the
 *   sweep. A late event for the same version, a doubled one, or two sweeps overlapping find the claim and stop;
 *   reordered events are ordered by the ledger's arrival lanes as always. The sweep itself writes nothing.
 */
import type { Clock, LedgerLookup, ObjectInfo, ObjectListing, ObjectRef } from '../ports.ts';
import { isTemporaryName, parseObjectKey } from './layout.ts';
import { fileIdOf } from './receive-file.ts';

export interface SweepDeps {
  inbound: ObjectListing;
  ledger: LedgerLookup;
  /** Puts an arrival of exactly this version on the import queue (the import handler takes it from there). */
  announce(object: ObjectRef): Promise<void>;
  clock: Clock;
  /** Objects younger than this are left to their own event (default DEFAULT_SWEEP_SETTLE_MS). */
  settleMs?: number;
  /** Pages of the listing per run; absent: all (the handler bounds a run by its time instead). */
  maxPages?: number;
}

/** Ten minutes: well past the OnPartialUpload workflow's tag and the import queue's usual delay. */
export const DEFAULT_SWEEP_SETTLE_MS = 10 * 60_000;

/** The inbound area's prefix. */
export const INBOUND_PREFIX = 'inbound/';

export type SweepVerdict = 'not_ours' | 'settling' | 'known' | 'lost';

export interface SweepReport {
  /** Current objects listed under inbound/. */
  listed: number;
  notOurs: number;
  settling: number;
  known: number;
  /** Settled versions the ledger did not know: announced to the import queue. */
  announced: ObjectRef[];
  /** Where the listing stopped when `maxPages` ended the run early; absent when it went through. */
  resumeAt?: string;
}

/** What the sweep does with one listed object, given whether the ledger knows its version. */
export function sweepVerdict(object: ObjectInfo, known: boolean, now: Date, settleMs: number): SweepVerdict {
  const parsed = parseObjectKey(object.key);
  if (parsed?.area !== 'inbound' || isTemporaryName(parsed.path)) return 'not_ours';
  if (now.getTime() - object.lastModified.getTime() < settleMs) return 'settling';
  return known ? 'known' : 'lost';
}

/** One sweep over inbound/: list, look up per organization, announce the lost versions. */
export async function sweepInbound(deps: SweepDeps, cursor?: string): Promise<SweepReport> {
  const settleMs = deps.settleMs ?? DEFAULT_SWEEP_SETTLE_MS;
  const report: SweepReport = { listed: 0, notOurs: 0, settling: 0, known: 0, announced: [] };
  let next = cursor;
  let pages = 0;
  do {
    if (deps.maxPages !== undefined && pages >= deps.maxPages)
      return { ...report, ...(next ? { resumeAt: next } : {}) };
    const page = await deps.inbound.listCurrent(INBOUND_PREFIX, next);
    pages++;
    report.listed += page.items.length;
    const now = deps.clock.now();
    // Looked up per organization, only for settled objects of ours (the ledger's partition is the organization).
    const candidates = new Map<string, { object: ObjectInfo; fileId: string }[]>();
    for (const object of page.items) {
      const verdict = sweepVerdict(object, false, now, settleMs);
      if (verdict === 'not_ours') report.notOurs++;
      else if (verdict === 'settling') report.settling++;
      else {
        const org = parseObjectKey(object.key)!.org;
        const list = candidates.get(org) ?? [];
        list.push({ object, fileId: fileIdOf(object.key, object) });
        candidates.set(org, list);
      }
    }
    for (const [org, list] of candidates) {
      const known = await deps.ledger.known(
        org,
        list.map((c) => c.fileId),
      );
      for (const { object, fileId } of list) {
        if (known.has(fileId)) {
          report.known++;
          continue;
        }
        const ref: ObjectRef = {
          key: object.key,
          etag: object.etag,
          ...(object.versionId ? { versionId: object.versionId } : {}),
        };
        await deps.announce(ref);
        report.announced.push(ref);
      }
    }
    next = page.next;
  } while (next);
  return report;
}
