/**
 * The interfaces the core needs from the outside world. Adapters in functions/adapters implement them against
 * DynamoDB and S3 (the same code in AWS and in the twin); tests may implement them in memory.
 * Each port is small and named after what the core asks of it.
 */
import type { BillingPeriod, BillingUsage } from './billing.ts';
import type { IntegrationEvent } from './integration-events.ts';
import type { EraseStep, Organization, OrganizationChange, OrganizationStatus, StoredSshKey } from './organizations.ts';
import type { Page } from './pages.ts';
import type { Problem } from './problems.ts';
import type { CsvReadOptions, OpenedCsv } from './transfer/csv/types.ts';
import type { KeyNote } from './transfer/duplicate-keys.ts';
import type { ExportJob, ExportProgress } from './transfer/export-jobs.ts';
import type { JobRunRequest } from './transfer/job-runs.ts';
import type { ImportJob } from './transfer/jobs.ts';
import type { OutboxEntry } from './transfer/notifications.ts';
import type { LifeSigns } from './transfer/run-watch.ts';
import type { Acknowledgement, FiringRun, RowError, Run, RunComment, RunCounts, RunView } from './transfer/runs.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Randomness the core may use (run id suffixes). */
export interface Random {
  /** `length` characters of [a-z0-9]. */
  token(length: number): string;
}

/** A file's bytes, streamed. */
export type ByteSource = AsyncIterable<Uint8Array>;

/** The streaming CSV reader (functions/core/transfer/csv/read-csv.ts): decode, parse, header checks. */
export type OpenCsv = (source: ByteSource, options: CsvReadOptions) => Promise<OpenedCsv>;

/** One version of one object. */
export interface ObjectRef {
  key: string;
  /** Set in a versioned bucket: reads, copies and deletes then address exactly this version. */
  versionId?: string;
  /** The version's ETag: a read or delete fails when the key now holds other bytes. */
  etag?: string;
}

export interface ObjectInfo {
  key: string;
  versionId?: string;
  etag: string;
  size: number;
  lastModified: Date;
}

/** The data bucket. */
export interface FileStore {
  /** The object's metadata; undefined when it (or that version) no longer exists. */
  head(key: string, versionId?: string): Promise<ObjectInfo | undefined>;
  /**
   * The version an upload event means when the event names no version id: AWS Transfer Family's `SFTP Server File
   * Upload Completed` event carries the key, the ETag and the end time of the upload, not the S3 versionId, and two
   * uploads of one name seconds apart are two versions. Rule: the newest version of exactly `key` (never another key
   * sharing it as a prefix; delete markers ignored) whose ETag equals `etag` (compared without surrounding quotes) and,
   * when `notAfter` is given, whose LastModified is not after it, with 1 s of slack (LastModified has 1-second
   * resolution). Undefined when none. In an unversioned bucket: the current object if its ETag matches.
   */
  versionOf(key: string, etag: string, notAfter?: Date): Promise<ObjectInfo | undefined>;
  tags(ref: ObjectRef): Promise<Record<string, string>>;
  /** The bytes of exactly that version; fails if it changed or vanished. */
  read(ref: ObjectRef): Promise<ByteSource>;
  /**
   * Writes a new object from a stream of text (UTF-8), without holding it in memory (multipart upload: the object
   * exists only once the upload completes; a failed upload leaves nothing under the key). `ifAbsent`: the write is
   * refused with an ObjectExistsError, and the key's object left as it is, when the key already holds one.
   */
  write(key: string, body: AsyncIterable<string>, contentType: string, options?: { ifAbsent?: boolean }): Promise<void>;
  /** Server-side copy of exactly that version; false (nothing copied) when that version is gone or was replaced. */
  copy(from: ObjectRef, toKey: string): Promise<boolean>;
  /**
   * Deletes exactly that version. In an unversioned bucket it first checks that the key still holds the same bytes
   * (ETag) and returns false, deleting nothing, when a newer upload replaced it meanwhile.
   */
  remove(ref: ObjectRef): Promise<boolean>;
}

/** The stored state of a record, as far as imports care. */
export interface StoredRecordState {
  /** Content hash of the mapped fields the last import wrote. */
  hash?: string;
  /** The run that last wrote the record, and the one that created it (a resumed run recognises its own writes). */
  lastRunId?: string;
  createdRunId?: string;
}

export type WriteCondition = 'none' | 'must_exist' | 'must_not_exist';

/** One upsert: only the fields the mapping writes (plus bookkeeping); other attributes of the item stay as they are. */
export interface RecordWrite {
  org: string;
  entity: string;
  /** The sync key's value, normalized. */
  recordKey: string;
  /** Fields to set, our field ids -> values. */
  set: Readonly<Record<string, string>>;
  /** Mapped fields the row left empty: removed from the record. */
  remove: readonly string[];
  hash: string;
  condition: WriteCondition;
  /**
   * Whether the record existed when the engine read it (its BatchGet): the store then sends the create or the update
   * form first, and resends a row that lost a race in the other form. Absent: unknown (the store tries create first).
   */
  exists?: boolean;
  templateId: string;
  runId: string;
  row: number;
  at: string;
  /**
   * The file's place in its arrival lane (FileEntry.lane/seq). Stored on the record; a write whose arrival number is
   * lower than the stored one of the same lane is refused (`superseded`), so a late-running older file never puts
   * older data over a newer file's. Absent: no ordering guard (callers outside the import pipeline).
   */
  arrival?: { lane: string; seq: number };
  /**
   * Only record the arrival number on a record that already holds exactly this content (and an older number): an
   * unchanged row of a file that overtook an unfinished older one, so that the older file, should it resume, cannot
   * put its data over this content. Counts as `unchanged`; never billed.
   */
  touch?: boolean;
}

/**
 * What one write did, decided from the write's own result (not from an earlier read, which a concurrent run may have
 * made stale):
 * - `created`, `updated`: the record changed (`created`: it did not exist before this write);
 * - `unchanged`: the record already held exactly this content, nothing was written;
 * - `condition_failed`: the preference's condition (must exist / must not exist) refused it;
 * - `superseded`: a file that arrived later has already written the record.
 * `rewrote` is set when the record already held this content from this very run (a resumed run redoing rows after its
 * checkpoint): it counts as what this run did to it, and is not written or billed again.
 */
export type WriteEffect = 'created' | 'updated' | 'unchanged' | 'condition_failed' | 'superseded';
export interface WriteResult {
  effect: WriteEffect;
  /** True when this call changed the stored record (what the record limit counts). */
  wrote: boolean;
}

export interface RecordStore {
  /** Stored states by record key; a key with no record is absent from the map. */
  current(org: string, entity: string, recordKeys: readonly string[]): Promise<Map<string, StoredRecordState>>;
  /** Applies the writes (concurrently, bounded), each one conditional; results in the same order. */
  apply(writes: readonly RecordWrite[]): Promise<WriteResult[]>;
}

export interface JobStore {
  importJobs(org: string): Promise<ImportJob[]>;
}

/** A job of either direction, as the Jobs table holds them (`direction` tells them apart). */
export type Job = ImportJob | ExportJob;

/**
 * Whether a conditional save happened; or the stored job was not the one the caller read (`conflict`); or another
 * launched job holds the template (`template_taken`).
 */
export type JobSaveResult = 'saved' | 'conflict' | 'template_taken';

/**
 * The Jobs table of an organization, both directions, for the API (read and saved one by one), the import handler
 * (its launched import jobs), the scheduled runs and the export function. Every call is keyed by the organization.
 */
export interface JobRepository extends JobStore {
  /** A job of either direction. */
  get(org: string, jobId: string): Promise<Job | undefined>;
  /** Every job of the organization, both directions (an organization has tens: upcoming runs, the twin's scheduler). */
  all(org: string): Promise<Job[]>;
  /** One page of the organization's jobs (both directions), in job id order; a cursor from another list is an InvalidCursor. */
  list(org: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /**
   * Saves the job's definition (attributes other parts keep on the item stay, an export job's `lastExport` among
   * them: only `markExported` writes it) if the stored job is still the one the caller read: `expectedRevision`
   * undefined -> the job must not exist yet; a number -> the stored revision (an item without one counts as 0).
   * Otherwise nothing is written and the result is `conflict`.
   *
   * One launched job per direction and template (template ids are unique across directions, so the template names
   * both), kept by the store, not by a read before the write: a launched job holds its template (a guard keyed by
   * organization and template, written atomically with the job), so of two concurrent launches for one template
   * exactly one is saved and the other is `template_taken`. `releasesTemplate`: the save takes a launched job back to
   * draft and frees its template in the same write.
   */
  save(
    job: Job,
    expectedRevision: number | undefined,
    options?: { releasesTemplate?: boolean },
  ): Promise<JobSaveResult>;
  /**
   * Records where a successful export started (its mark), only if it is above the stored one: of two exports that
   * finish out of order the later mark wins, so the increment never moves back.
   */
  markExported(org: string, jobId: string, progress: ExportProgress): Promise<void>;
}

/**
 * Each launched scheduled job's schedule, kept by the scheduler that fires it (EventBridge Scheduler in AWS:
 * functions/adapters/eventbridge-scheduler.ts; the twin: lib/local/scheduler.ts). A firing becomes a JobRunRequest
 * (trigger `schedule`, cut-off = the scheduled time) delivered at least once to functions/handlers/scheduled-run.ts.
 */
export interface JobScheduler {
  /**
   * Makes the job's schedule what the job says, idempotently: launched + scheduled -> its schedule exists with the
   * job's expression and time zone (enabled, or disabled while the job is paused); anything else (draft, on arrival)
   * -> none. Called after every save of a job.
   */
  sync(job: Job): Promise<void>;
  /** The job is gone: its schedule too. */
  remove(org: string, jobId: string): Promise<void>;
}

/**
 * Scheduled and requested runs (FiringRun, job-runs.ts) in the Runs table beside the per-file runs, so the reports list
 * them together. Written with UpdateItem: attributes other parts add (comments, acknowledgement) stay.
 */
export interface FiringRunLog {
  get(org: string, runId: string): Promise<FiringRun | undefined>;
  /** Creates the run; false (nothing written) when a run of that id exists: a firing delivered twice runs once. */
  create(run: FiringRun): Promise<boolean>;
  save(run: FiringRun): Promise<void>;
}

/** "Run now": hands a request to the worker that runs jobs (scheduled-run.ts), at least once. */
export interface JobRunRequests {
  request(request: JobRunRequest): Promise<void>;
}

/** A row error as the reports list it: the row's entry plus its sort key and the first problem's fields on top. */
export type ReportedRowError = RowError & {
  runId: string;
  seq: string;
  code?: string;
  message?: string;
  column?: string;
  value?: string;
  rule?: string;
};

export type CommentResult = 'added' | 'not_found' | 'full';
export type AcknowledgeResult =
  | { result: 'acknowledged'; acknowledged: Acknowledgement }
  | { result: 'already'; acknowledged: Acknowledgement }
  | { result: 'not_found' }
  /** The run has not failed (running or completed): there is nothing to acknowledge. */
  | { result: 'not_failed'; status: Run['status'] };

/**
 * The reports' side of runs, for the API: lists, one run, its errors, and the notes people add (comments,
 * acknowledgement). Every call is keyed by the caller's organization, and a cursor must be exactly a key of the
 * caller's own list (core/pages.ts), so one organization can never page into, or write onto, another's runs.
 * Defined here, implemented by adapters/dynamodb-reports.ts (and in memory by the tests).
 */
export interface RunReports {
  /** Every run of the organization, newest first. */
  listRuns(org: string, limit: number, cursor?: string): Promise<Page<Run>>;
  /** One report's runs (runs.ts `viewOf`), newest first. */
  listView(org: string, view: RunView, limit: number, cursor?: string): Promise<Page<Run>>;
  getRun(org: string, runId: string): Promise<Run | undefined>;
  /** The run's per-row errors in row order. */
  listRunErrors(org: string, runId: string, limit: number, cursor?: string): Promise<Page<ReportedRowError>>;
  /** Appends a comment, conditional on the run existing and holding fewer than MAX_COMMENTS. */
  addComment(org: string, runId: string, comment: RunComment): Promise<CommentResult>;
  /**
   * Acknowledges a failed run once: the first acknowledgement stays (a repeat answers `already` with it), and the run
   * leaves Need Attention in the same write.
   */
  acknowledge(org: string, runId: string, ack: Acknowledgement): Promise<AcknowledgeResult>;
}

/** Runs and their per-row errors. */
export interface RunLog {
  /**
   * Creates or updates the run's attributes. Attributes other parts own are kept: the notes (comments,
   * acknowledgement) are never written by a save, whatever the run passed holds.
   */
  save(run: Run): Promise<void>;
  get(org: string, runId: string): Promise<Run | undefined>;
  /** Entries of one row within a call are merged into one (runs.ts `onePerRow`): nothing a row was told is dropped. */
  addErrors(org: string, runId: string, errors: readonly RowError[]): Promise<void>;
  /** The run's errors in row order, paged: constant memory however many. */
  errors(org: string, runId: string): AsyncIterable<RowError>;
}

/**
 * One file's rows cut into ranges applied in parallel (import-ranges.ts). The plan lives on the run; each range is an
 * item of its own with its own lease (claims, leaseUntil, as a file's claim), checkpoint and counts, so a crashed
 * range resumes from its checkpoint on the next delivery of its message and the others go on meanwhile.
 */
export interface RunRanges {
  /**
   * Stores the ranges, their duplicate-key notes and then the plan, once: a plan already stored is returned as it is
   * (a coordinator that crashed after planning plans nothing twice).
   */
  plan(
    org: string,
    runId: string,
    plan: RangePlan,
    ranges: readonly RangeBounds[],
    notes: RangeNotes,
  ): Promise<RangePlan>;
  /** The run's plan; undefined when the run was not cut into ranges. */
  planOf(org: string, runId: string): Promise<RangePlan | undefined>;
  /** Moves the plan to the file's current claim (a retaken file: the ranges renew that lease). */
  retarget(org: string, runId: string, entry: FileEntry): Promise<void>;
  /**
   * Claims a range: succeeds when it is open and its lease lapsed (or it is done: the caller only takes part in the
   * finish). Undefined when another delivery holds it.
   */
  claim(org: string, runId: string, index: number, now: number, leaseUntil: number): Promise<RangeState | undefined>;
  /** The range's heartbeat; false when the range was claimed by another delivery since. */
  renew(range: RangeState, leaseUntil: number): Promise<boolean>;
  /** Saves the range's checkpoint, counts and warnings; rejects with ClaimLostError when it was claimed since. */
  save(range: RangeState): Promise<void>;
  /** Lets the range go (a pause): the next delivery of its message takes it at once. */
  release(range: RangeState): Promise<void>;
  /**
   * Records the range done (its final counts, as `save`) and answers whether this caller finishes the run: exactly one
   * caller ever is told so, the one whose range completed the set (again on a redelivery of that same range).
   */
  complete(range: RangeState): Promise<boolean>;
  /** Every range of the run, in row order. */
  list(org: string, runId: string, ranges: number): Promise<RangeState[]>;
  /** A range's duplicate-key notes, in row order. */
  notes(org: string, runId: string, index: number): AsyncIterable<KeyNote>;
}

/** What a range worker needs to apply its rows as the coordinator would have. */
export interface RangePlan {
  ranges: number;
  /** The file's claim: its lease is renewed by the ranges while they work, and the finish settles it. */
  entry: FileEntry;
  job: ImportJob;
  ref: ObjectRef;
  fileName: string;
  arrival?: { lane: string; seq: number; guardUnchanged?: boolean };
}

/** Rows after `after` up to `upTo` (inclusive; absent: to the end of the file). */
export interface RangeBounds {
  after: number;
  upTo?: number;
}

/** The census's notes per range, each in row order. */
export type RangeNotes = (index: number) => AsyncIterable<KeyNote>;

export interface RangeState extends RangeBounds {
  org: string;
  runId: string;
  index: number;
  status: 'open' | 'done';
  claims: number;
  leaseUntil: number;
  /** The last row applied (the range's checkpoint). */
  checkpoint?: number;
  counts: RunCounts;
  warnings: Problem[];
  /** Why reading this range ended early (a FileProblem, a StoreRefusal), and the last row read then. */
  stoppedBy?: Problem;
  lastRow?: number;
}

/** A run log that can also create a run only once: a request delivered twice (an export run's id) runs once. */
export interface ClaimingRunLog extends RunLog {
  /** Saves the run if no run of its id exists; false (nothing written) when one does. */
  create(run: Run): Promise<boolean>;
}

/** The Billing report's read: one period's limit, used and unused counts and records per job (core/billing.ts). */
export interface BillingReports {
  usage(org: string, period: BillingPeriod): Promise<BillingUsage>;
}

/** Which period and job a reservation is billed to (core/billing.ts: the period is `periodOf(at)`). */
export interface BillingUse {
  jobId: string;
  /** When the batch is written: it is billed to this instant's period. */
  at: Date;
}

/** The organization's allowed record limit per billing period (Billing: allowed, used, unused; core/billing.ts). */
export interface Billing {
  /**
   * Reserves up to `wanted` records in the period of `use.at`, counted to `use.jobId` too; returns how many were
   * granted (0 when the period's limit is reached).
   */
  reserve(org: string, wanted: number, use: BillingUse): Promise<number>;
  /** Gives back reserved records that were not written (the same `use` as their reservation). */
  release(org: string, count: number, use: BillingUse): Promise<void>;
}

/**
 * Work handed to a later invocation: a run that paused for lack of time asks to be continued. In AWS a message on the
 * import queue (SQS, no delivery delay); in the twin its local queue. The message is what the next invocation
 * receives, unchanged: for imports the S3 notification itself (the run's checkpoint is found through the file's
 * ledger entry, not carried in the message).
 */
export interface Continuations {
  /**
   * Enqueues `message` for delivery at once, or after `delaySeconds` (at most 900, SQS's DelaySeconds); resolves once
   * the queue holds it, rejects if it could not be sent.
   */
  continueLater(message: string, options?: { delaySeconds?: number }): Promise<void>;
}

/**
 * The visibility of a message being handled (SQS ChangeMessageVisibility; the twin's queue implements the same): while
 * a message is invisible no other consumer receives it. The import handler keeps it short and extends it while the run
 * makes progress, so that after a crash the message comes back within minutes, not after the queue's timeout.
 */
export interface MessageVisibility {
  /** The message (by the receipt handle of its current delivery) becomes visible again `seconds` from now. */
  change(receiptHandle: string, seconds: number): Promise<void>;
}

/** `pending`: received for a scheduled (or paused) job, waiting for a run of it (job-runs.ts). */
export type FileStatus = 'processing' | 'pending' | 'done' | 'partial' | 'refused';

/** A scheduled or requested run took a pending file: the file's own run names it as `partOf`. */
export interface FileRelease {
  runId: string;
  trigger: 'schedule' | 'manual';
}

/** The arrival ledger: one entry per received object version. */
export interface FileEntry {
  org: string;
  /** `${key}#${versionId ?? etag + '@' + lastModified}`. */
  fileId: string;
  key: string;
  versionId?: string;
  etag: string;
  size: number;
  status: FileStatus;
  /** Epoch ms until which the current claim is held; a `processing` entry past it may be retaken (crash recovery). */
  leaseUntil: number;
  receivedAt: string;
  /** The object's LastModified (when the upload ended): what a scheduled run's cut-off compares. */
  uploadedAt?: string;
  updatedAt: string;
  runId?: string;
  /** How often the entry was claimed (redeliveries, resumptions). */
  claims: number;
  /**
   * The file's arrival lane (its template: files of one organization and template apply in arrival order) and its
   * arrival number in it, given once by `enterLane`.
   */
  lane?: string;
  seq?: number;
  /** The job the run started with: a resumed run keeps it, whatever was edited between invocations. */
  job?: ImportJob;
  /** While `pending`: the job whose run will take it. */
  pendingJob?: string;
  /** The scheduled or requested run that took it (set once, by `release`). */
  release?: FileRelease;
}

export type ClaimResult =
  | { claimed: true; entry: FileEntry; previous?: FileEntry }
  | { claimed: false; current: FileEntry };

export interface FileLedger {
  /**
   * Claims the entry with a conditional write: succeeds when it does not exist yet, when it is `processing` and its
   * lease expired (the previous holder crashed or paused), or when it is `pending` (waiting for a run of its job: the
   * claimer decides again whether it still waits). Exactly one concurrent caller wins.
   */
  claim(entry: FileEntry, now: number): Promise<ClaimResult>;
  /**
   * Updates the entry the caller holds: conditional on `claims` still being the caller's (a later claim increments
   * it), so a holder that lost its lease cannot overwrite the new holder's entry. Rejects with ClaimLostError then.
   */
  update(entry: FileEntry): Promise<void>;
  /**
   * The lease's heartbeat: moves `leaseUntil` of the caller's claim (the entry's org, fileId and `claims`) forward,
   * if it is still `processing` and nobody claimed it since. False when the claim was lost: stop working on the file.
   */
  renew(entry: FileEntry, leaseUntil: number): Promise<boolean>;
  /** The organization's `pending` entries (files waiting for a run of their job), in no particular order. */
  pending(org: string): Promise<FileEntry[]>;
  /**
   * Marks a pending entry as taken by `release.runId`; false (nothing changed) when it is no longer pending or another
   * run took it. A run delivered twice releases its files again harmlessly.
   */
  release(entry: FileEntry, release: FileRelease): Promise<boolean>;
  /**
   * Gives the claimed entry the next arrival number of the organization's `lane`, once: the lane's counter, a pointer
   * from the number to the entry and the entry itself change in one transaction, so every number handed out belongs to
   * an entry. An entry that has its number keeps it (the entry is returned as stored).
   */
  enterLane(entry: FileEntry, lane: string): Promise<LaneEntry>;
  /**
   * The lane's turn: the arrival number whose file may import now, and that file's entry (absent when no file holds
   * the number yet: the lane is idle).
   */
  laneTurn(org: string, lane: string): Promise<LaneTurn>;
  /**
   * Moves the lane's turn from `from` to `from + 1`; false, changing nothing, when the turn is no longer `from`.
   * `unsettled`: the file holding `from` has not finished (it crashed): its number is remembered in `skipped`.
   */
  passTurn(org: string, lane: string, from: number, unsettled?: boolean): Promise<boolean>;
  /** The file holding `seq` has finished: forgets it in `skipped` and passes the turn on if it is still `seq`. */
  leaveLane(org: string, lane: string, seq: number): Promise<void>;
}

export type LaneEntry = FileEntry & { lane: string; seq: number };

export interface LaneTurn {
  turn: number;
  holder?: FileEntry;
  /** Numbers whose turn was passed while their file had not finished (it may still resume, late). */
  skipped?: number[];
}

/** A write with `ifAbsent` onto a key that holds an object already: nothing was written. */
export class ObjectExistsError extends Error {
  readonly code = 'object_exists';
  constructor(readonly key: string) {
    super(`${key} exists already`);
    this.name = 'ObjectExistsError';
  }
}

/**
 * The organization's change sequence: a number stamped on every write of a record (imports and the case-management
 * system alike), so "changed since" is a comparison of numbers, never of clocks. Numbers are handed out in blocks
 * (one atomic ADD per batch of writes, so the counter is not a hot spot); within an organization each number is
 * given once and later reservations get higher numbers. Gaps are allowed (a reserved number whose write changed
 * nothing is never used).
 *
 * A reservation is good for `CHANGE_SEQUENCE_LEASE_MS`: a writer that still holds numbers past it reserves anew
 * before writing, so a number below an export's mark is written within that time of being handed out (the export
 * waits as long after taking its mark before reading: export-engine.ts).
 */
export interface ChangeSequence {
  /** Reserves `count` consecutive numbers (count >= 1); returns the first. */
  reserve(org: string, count: number): Promise<number>;
  /** The highest number handed out so far (0 when none): a strongly consistent read. */
  current(org: string): Promise<number>;
}

export const CHANGE_SEQUENCE_LEASE_MS = 10_000;

/** One record of the system of record, as the export reads it. */
export interface EntityRecord {
  entity: string;
  /** The record key (the sync key's value for imported records, the case-management system's id otherwise). */
  key: string;
  /** The change sequence number of its last write. */
  changeSeq: number;
  /** Our field ids -> values (bookkeeping attributes left out). */
  fields: Record<string, string>;
}

/** One upsert by the case-management system: only the fields given change (and `remove` are removed). */
export interface EntityWrite {
  org: string;
  entity: string;
  key: string;
  set: Readonly<Record<string, string>>;
  remove?: readonly string[];
  at: string;
}

/**
 * The system of record: the entities the export templates read (foreign nationals, cases, visas, passports,
 * immigration documents, petitions), in the Records table beside what imports write, each write stamped with the
 * organization's change sequence.
 */
export interface SystemOfRecord {
  /** The case-management system's writes (concurrently, bounded); one block of sequence numbers per call. */
  put(writes: readonly EntityWrite[]): Promise<void>;
  /** Records by key; a key with no record is absent from the map. */
  get(org: string, entity: string, keys: readonly string[]): Promise<Map<string, EntityRecord>>;
  /**
   * One page of the organization's records of `entity`: every record in key order, or (`changedAfter`) those whose
   * change sequence is above it (and at or below `changedUpTo`), in sequence order. Pages are bounded (`limit`), so a reader holds one page at a time.
   */
  page(
    org: string,
    entity: string,
    options: {
      limit: number;
      cursor?: string;
      changedAfter?: number;
      /** With `changedAfter`: only records whose change sequence is at or below this (an export's mark). */
      changedUpTo?: number;
    },
  ): Promise<Page<EntityRecord>>;
  /**
   * Every record of `entity` that belongs to one of `people` (foreign nationals' keys, the records' `employeeId`),
   * whatever its change sequence: what an incremental export re-reads for a person who changed. People are few per
   * call (an export page's), and each has few records.
   */
  ofPeople(org: string, entity: string, people: readonly string[]): Promise<EntityRecord[]>;
}

/** What the export engine needs of the Jobs table: the job, and recording its progress. */
export type ExportJobStore = Pick<JobRepository, 'get' | 'markExported'>;

/** One export run to make: the job, who asked, and the run's id (a firing's, or the one run now was given). */
export interface ExportRunRequest {
  org: string;
  jobId: string;
  trigger: string;
  /** Absent (the CLI): the engine gives the run an id of its own. */
  runId?: string;
}

/**
 * Hands an export run to the export function without waiting for it: the export-runs queue (SQS in AWS, consumed by
 * functions/handlers/export-run.ts; the twin's durable LocalQueue), at least once. The scheduled-run handler uses it
 * for export jobs' firings and run-now requests; the export never runs inside the caller.
 */
export interface ExportLauncher {
  launch(request: ExportRunRequest): Promise<void>;
}

/** A ledger write by a caller whose claim was taken over by a later one (its lease had lapsed). */
export class ClaimLostError extends Error {
  readonly code = 'claim_lost';
  constructor(readonly fileId: string) {
    super(`the claim on ${fileId} was taken over by a later delivery`);
    this.name = 'ClaimLostError';
  }
}

/**
 * Sorting more fixed-size records than memory should hold (the duplicate-key check of a file of any size). Records
 * compare by their bytes, unsigned and left to right: encode numbers big-endian so that byte order is number order.
 * In AWS and the twin: adapters/disk-sort.ts (memory up to a budget, then sorted runs in /tmp, merged on reading).
 */
export interface SortScratch {
  /** Starts an empty sort of records of exactly `recordSize` bytes. */
  start(recordSize: number): RecordSort;
}

export interface RecordSort {
  /** Adds a copy of the record. Await it: adding may write a sorted run to scratch space. */
  add(record: Uint8Array): Promise<void> | undefined;
  /**
   * Every record added, in byte order (equal records in any order). Each record yielded is a view that stays valid only
   * until the next one is asked for. May be read once; scratch space is released when the reading ends or stops.
   */
  sorted(): AsyncIterable<Uint8Array>;
  /** Releases scratch space without reading (a run that stopped early). Safe to call more than once. */
  discard(): Promise<void>;
}

/**
 * The current objects below a prefix of the data bucket, for the sweep (functions/core/transfer/sweep.ts): the latest
 * version of each key (with its version id in a versioned bucket); a key whose latest entry is a delete marker is
 * absent. Paged in key order; `next` resumes after the page's last key.
 */
export interface ObjectListing {
  listCurrent(prefix: string, cursor?: string): Promise<Page<ObjectInfo>>;
}

/** Which arrival-ledger entries exist (the Files table), for the sweep: the subset of `fileIds` the ledger holds. */
export interface LedgerLookup {
  known(org: string, fileIds: readonly string[]): Promise<Set<string>>;
}

/** One e-mail, plain text. `messageId` is the event's own (notifications.ts messageIdOf), the same on every attempt. */
export interface MailMessage {
  from: string;
  to: readonly string[];
  subject: string;
  text: string;
  messageId: string;
}

/**
 * Sends e-mail: SES in AWS (nodemailer's SES transport over SESv2, with the stack's configuration set), `.eml` files
 * under .local/mail/ on the twin (adapters/mailer.ts). Resolves once the message was accepted; rejects otherwise.
 */
export interface Mailer {
  send(message: MailMessage): Promise<{ providerId?: string }>;
}

/**
 * The notifications' outbox: one entry per event key (notifications.ts eventKey). Claims are conditional writes, so of
 * any number of concurrent or repeated senders of one event exactly one holds it at a time, and a sent event is
 * never claimed again.
 */
export interface Outbox {
  get(org: string, eventKey: string): Promise<OutboxEntry | undefined>;
  /**
   * Creates the entry (attempt 1: it must not exist) or takes over a lapsed one (attempt n: the stored attempt must be
   * n - 1 and not sent). False, writing nothing, when another sender got there first.
   */
  claim(entry: OutboxEntry): Promise<boolean>;
  /** Marks the holder's attempt sent (conditional on the attempt still being the holder's). */
  markSent(org: string, eventKey: string, attempt: number, at: string, providerId?: string): Promise<void>;
  /**
   * Records an event `pending` (attempt 0, with the event to send) unless the key exists: false, writing nothing, when
   * it does. What is recorded stays in the outbox until sent, whatever happens to the run meanwhile.
   */
  enqueue(entry: OutboxEntry): Promise<boolean>;
  /** The organization's entries not yet sent (pending, or sending with a claim that may have lapsed). */
  unsent(org: string): AsyncIterable<OutboxEntry>;
}

/** Who hears of an organization's job: the job's integration contacts, then the organization's. */
export interface ContactDirectory {
  contactsFor(
    org: string,
    jobId?: string,
  ): Promise<{ jobContacts: unknown[]; orgContacts: unknown[]; orgName?: string }>;
}

/** What the run watch reads and writes across organizations (a system function, never the API). */
export interface RunWatchStore {
  /** Every organization's running runs. */
  runningRuns(): AsyncIterable<Run>;
  /** The ledger entries of the run's file(s) that belong to this run. */
  lifeSigns(run: Run): Promise<LifeSigns[]>;
  /**
   * Ends the run as `ended` if it is still the run the watch read (running, same invocation and checkpoint): a run that
   * resumed or finished meanwhile is left alone (false).
   */
  interrupt(read: Run, ended: Run): Promise<boolean>;
  /** Organization ids (the Organizations table). */
  organizations(): Promise<string[]>;
  /** The organization's Need Attention runs started at or after `since`, newest first. */
  failedSince(org: string, since: Date): AsyncIterable<Run>;
}

/**
 * Integration events for other systems (core/integration-events.ts builds them; schemas/events/ defines them). Each
 * event's id is derived from its fact, so publishing is safe to repeat: an event already published is not published
 * again in the normal case (core `publishOncePerFact`), and a rare second publication carries the same id, for
 * consumers to deduplicate on. Resolves once every event is on the bus or was already; rejects otherwise.
 */
export interface IntegrationEvents {
  publish(events: readonly IntegrationEvent[]): Promise<void>;
}

/** The bus itself (EventBridge PutEvents, the twin's in-process bus): resolves only once it accepted every event. */
export interface EventBus {
  put(events: readonly IntegrationEvent[]): Promise<void>;
}

/**
 * The integration events' outbox (table PublishedEvents), one entry per event id, with the Outbox's rules: a claim is
 * a conditional write, so of any number of concurrent or repeated publishers of one event exactly one holds it at a
 * time, and a published (`sent`) event is never claimed again.
 */
export type PublishedEvents = Pick<Outbox, 'get' | 'claim' | 'markSent'>;

export type SshKeyAddResult = 'added' | 'exists' | 'full' | 'not_found';

/**
 * The Organizations table's items as data (functions/core/organizations.ts). Writes are conditional on the item's
 * existence, so a change never recreates a deleted organization; billing counters on the item are never touched here.
 */
export interface OrganizationStore {
  get(org: string): Promise<Organization | undefined>;
  list(): Promise<Organization[]>;
  /** false (nothing written) when the id is taken. */
  create(org: Organization): Promise<boolean>;
  /** The item after the change; undefined when there is none. */
  update(org: string, change: OrganizationChange, at: Date): Promise<Organization | undefined>;
  setStatus(org: string, status: OrganizationStatus, at: Date): Promise<Organization | undefined>;
  /** Adds a key unless the item has it already or holds MAX_SSH_KEYS_PER_USER (one conditional write). */
  addKey(org: string, key: StoredSshKey): Promise<SshKeyAddResult>;
  /** Records (or clears) a key's provider id; a key removed meanwhile stays removed. */
  setProviderKeyId(org: string, fingerprint: string, providerKeyId: string | undefined): Promise<void>;
  /** The removed key, or undefined when the organization has no such key. */
  removeKey(org: string, fingerprint: string): Promise<StoredSshKey | undefined>;
  /** Deletes the item (billing counters with it): the last step of an erase. */
  remove(org: string): Promise<void>;
}

/**
 * The SFTP front door's users: AWS Transfer Family service-managed users (functions/adapters/transfer-sftp-users.ts),
 * or the twin's server, which reads the Organizations table at every login and so needs nothing here. Idempotent.
 */
export interface SftpUsers {
  /** Creates the organization's user (the users' role, its logical home, its session policy) if it has none. */
  ensureUser(org: string): Promise<void>;
  deleteUser(org: string): Promise<void>;
  /** Imports a key; the provider's id for it (undefined where the table itself is what logins read). */
  importKey(org: string, body: string): Promise<string | undefined>;
  /** Deletes a key by the provider's id; one that is already gone is no error. */
  deleteKey(org: string, providerKeyId: string): Promise<void>;
}

/** An organization's data outside its item: its folders, what it still holds, and its erasure step by step. */
export interface OrganizationData {
  /** The folder markers `inbound/<org>/`, `archive/<org>/`, `outbound/<org>/`. */
  createFolders(org: string): Promise<void>;
  /** The kinds of data the organization still holds (`jobs`, `runs`, `files`, `records`, `objects`); [] when none. */
  holdings(org: string): Promise<string[]>;
  /** The ids of its jobs (both directions): their schedules are removed before the jobs are. */
  jobIds(org: string): Promise<string[]>;
  /** Removes one kind of data; repeating a finished step is a no-op. */
  erase(org: string, step: Exclude<EraseStep, 'sftp_user' | 'schedules'>): Promise<void>;
}
