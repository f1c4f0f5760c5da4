/**
 * Integration events: what Integrator tells other systems (the case-management system) on its event bus. Each event
 * is built here, purely, from the fact it reports (a run as recorded, a connection's state), and its detail matches
 * a versioned schema of the catalogue (integration-event-catalog.ts, schemas/events/).
 *
 * Rules:
 * - One fact, one event id, derived from the fact alone (`run-finished:<org>:<runId>`): building the event again, on a
 *   retry or in another invocation, gives the same id, and consumers deduplicate on `detail.eventId`.
 * - Published once per fact (`publishOncePerFact`): an outbox entry per event id, claimed with a conditional write
 *   before the event goes on the bus and marked published after. A retried handler, or the run watch publishing a
 *   failed run's events again, finds it published and publishes nothing; two at the same moment: one holds the claim,
 *   the other waits for it. Only a holder that outlives its lease (10 s) after the bus accepted the event publishes
 *   twice, with the same id. Never zero times while the caller retries until publish resolves.
 * - No personal data from the files: counts, codes, ids, keys and times only (no cell value, no problem message,
 *   which may quote one); the schemas forbid any property they do not name, and `publishOncePerFact` refuses an event
 *   that does not match its schema.
 */

import { type DetailType, detailProblems } from './integration-event-catalog.ts';
import type { Clock, EventBus, IntegrationEvents, PublishedEvents } from './ports.ts';
import { outboxDecision } from './transfer/notifications.ts';
import type { Run, RunCounts } from './transfer/runs.ts';

export { DETAIL_TYPES, type DetailType, EVENT_SOURCE } from './integration-event-catalog.ts';

export interface IntegrationEvent {
  /** The id consumers deduplicate on (also `detail.eventId`). */
  id: string;
  detailType: DetailType;
  /** The organization the fact belongs to (every event has one: the marker is kept per organization). */
  org: string;
  /** When the fact happened (ISO): EventBridge's `time`. */
  time: string;
  detail: Record<string, unknown> & { eventId: string; org: string };
}

/** The reasons a file is refused before any row is read (receive-file.ts stops the run with one of these). */
export const REFUSAL_CODES = [
  'partial_upload',
  'not_csv',
  'no_template',
  'bad_date',
  'no_launched_job',
  'several_jobs',
  'job_invalid',
] as const;
const REFUSALS = new Set<string>(REFUSAL_CODES);

const ended = (run: Run) => run.status !== 'running';
const directionOf = (run: Run) => run.direction ?? 'import';
const optional = <T>(name: string, value: T | undefined) => (value === undefined ? {} : { [name]: value });

function event(detailType: DetailType, id: string, org: string, time: string, detail: Record<string, unknown>) {
  return { id, detailType, org, time, detail: { eventId: id, org, ...detail } } satisfies IntegrationEvent;
}

/** Import counts as recorded; export runs report records read and rows written. Numbers only. */
function countsOf(run: Run): Record<string, number> {
  if (directionOf(run) === 'export') {
    const e = run.exported;
    return { records: e?.records ?? 0, rows: e?.rows ?? 0, filtered: e?.filtered ?? 0, failed: e?.failed ?? 0 };
  }
  const c: RunCounts = run.counts;
  return {
    rows: c.rows,
    created: c.created,
    updated: c.updated,
    unchanged: c.unchanged,
    skipped: c.skipped,
    failed: c.failed,
    overLimit: c.overLimit,
    ...optional('filtered', c.filtered),
    ...optional('superseded', c.superseded),
  };
}

/** Run Finished.v1: a run ended, with its status and counts. Undefined while it runs. */
export function runFinished(run: Run): IntegrationEvent | undefined {
  if (!ended(run)) return undefined;
  const endedAt = run.endedAt ?? run.startedAt;
  return event('Run Finished.v1', `run-finished:${run.org}:${run.runId}`, run.org, endedAt, {
    runId: run.runId,
    direction: directionOf(run),
    status: run.status,
    ...optional('jobId', run.jobId),
    ...optional('templateId', run.templateId),
    trigger: run.trigger ?? 'arrival',
    ...optional('partOf', run.partOf),
    startedAt: run.startedAt,
    endedAt,
    ...optional('problemCode', run.status === 'interrupted' ? run.problem?.code : undefined),
    counts: countsOf(run),
  });
}

/** Run Needs Attention.v1: the run ended Incomplete or Interrupted (it is listed in Need Attention). */
export function runNeedsAttention(run: Run): IntegrationEvent | undefined {
  if (run.status !== 'incomplete' && run.status !== 'interrupted') return undefined;
  const endedAt = run.endedAt ?? run.startedAt;
  const counts = countsOf(run);
  return event('Run Needs Attention.v1', `run-needs-attention:${run.org}:${run.runId}`, run.org, endedAt, {
    runId: run.runId,
    direction: directionOf(run),
    status: run.status,
    ...optional('jobId', run.jobId),
    ...optional('templateId', run.templateId),
    endedAt,
    ...optional('problemCode', run.status === 'interrupted' ? run.problem?.code : undefined),
    failedRows: (counts.failed ?? 0) + (counts.overLimit ?? 0),
    report: `/v1/runs/${run.runId}`,
  });
}

/** Export File Ready.v1: an export run that wrote its file (Completed or Incomplete; an Interrupted one wrote none). */
export function exportFileReady(run: Run): IntegrationEvent | undefined {
  if (directionOf(run) !== 'export' || (run.status !== 'completed' && run.status !== 'incomplete')) return undefined;
  if (!run.file?.key || !run.jobId || !run.templateId || !run.exported) return undefined;
  const readyAt = run.endedAt ?? run.startedAt;
  return event('Export File Ready.v1', `export-file-ready:${run.org}:${run.runId}`, run.org, readyAt, {
    runId: run.runId,
    jobId: run.jobId,
    templateId: run.templateId,
    key: run.file.key,
    ...optional('size', Number.isInteger(run.file.size) ? run.file.size : undefined),
    rows: run.exported.rows,
    mode: run.exported.mode,
    readyAt,
  });
}

/** Upload Refused.v1: an import run Interrupted before reading a row, for a reason of REFUSAL_CODES. */
export function uploadRefused(run: Run): IntegrationEvent | undefined {
  const code = run.problem?.code;
  if (directionOf(run) !== 'import' || run.status !== 'interrupted' || !code || !REFUSALS.has(code)) return undefined;
  const refusedAt = run.endedAt ?? run.startedAt;
  return event('Upload Refused.v1', `upload-refused:${run.org}:${run.runId}`, run.org, refusedAt, {
    runId: run.runId,
    fileName: run.file.name,
    reasonCode: code,
    refusedAt,
  });
}

/** Every event an ended run states, in the order consumers would expect them; none for a running one. */
export function eventsOfEndedRun(run: Run): IntegrationEvent[] {
  return [runFinished(run), runNeedsAttention(run), exportFileReady(run), uploadRefused(run)].filter(
    (e): e is IntegrationEvent => e !== undefined,
  );
}

/** A calendar connection that needs its user to sign in again (calendar/connections: the grant no longer works). */
export interface ReauthenticationFact {
  org: string;
  connectionId: string;
  provider: 'google' | 'microsoft';
  /** Our user id, never the e-mail address. */
  userId: string;
  /** When the connection was found unusable (ISO): a later lapse, after a re-authentication, is a new fact. */
  since: string;
  reasonCode?: string;
}

/** Calendar Reauthentication Required.v1. */
export function calendarReauthenticationRequired(fact: ReauthenticationFact): IntegrationEvent {
  const id = `calendar-reauthentication-required:${fact.org}:${fact.connectionId}:${fact.since}`;
  return event('Calendar Reauthentication Required.v1', id, fact.org, fact.since, {
    connectionId: fact.connectionId,
    provider: fact.provider,
    userId: fact.userId,
    ...optional('reasonCode', fact.reasonCode),
    since: fact.since,
  });
}

/** An event whose detail departs from its schema: a bug in a builder, never published. */
export class InvalidIntegrationEvent extends Error {
  constructor(
    readonly eventId: string,
    readonly problems: string[],
  ) {
    super(`integration event ${eventId} does not match its schema: ${problems.join('; ')}`);
    this.name = 'InvalidIntegrationEvent';
  }
}

/** How long a publisher holds an event's claim: PutEvents takes milliseconds; a crashed holder is replaced after it. */
export const PUBLISH_LEASE_MS = 10_000;

export interface PublishDeps {
  bus: EventBus;
  published: PublishedEvents;
  clock: Clock;
  /** Waits `ms` (a publisher that finds another's claim in flight waits for its outcome). */
  wait: (ms: number) => Promise<void>;
  leaseMs?: number;
}

/**
 * The IntegrationEvents port over a bus and an outbox (notifications.ts outboxDecision, the e-mails' rule): per
 * event, claim it with a conditional write, put it on the bus, mark it published. A published event is skipped; one
 * another publisher holds is waited for (within its lease) and then found published, or taken over once the lease
 * lapsed (the holder crashed or its bus call failed). So concurrent and repeated publishers put an event on the bus
 * once, and none returns before it is there: only a holder that outlives its lease after the bus accepted the event
 * publishes it twice, with the same id.
 */
export function publishOncePerFact(deps: PublishDeps): IntegrationEvents {
  const leaseMs = deps.leaseMs ?? PUBLISH_LEASE_MS;
  const publishOne = async (e: IntegrationEvent) => {
    for (;;) {
      const now = deps.clock.now().getTime();
      const decision = outboxDecision(await deps.published.get(e.org, e.id), now);
      if (decision.action === 'skip' && decision.reason === 'sent') return;
      if (decision.action === 'skip') {
        await deps.wait(Math.min(250, leaseMs));
        continue;
      }
      const claimed = await deps.published.claim({
        org: e.org,
        eventKey: e.id,
        status: 'sending',
        attempt: decision.attempt,
        leaseUntil: now + leaseMs,
      });
      if (!claimed) continue;
      await deps.bus.put([e]);
      await deps.published.markSent(e.org, e.id, decision.attempt, deps.clock.now().toISOString());
      return;
    }
  };
  return {
    async publish(events) {
      const unique = new Map<string, IntegrationEvent>();
      for (const e of events) {
        const problems = detailProblems(e.detailType, e.detail);
        if (problems.length > 0) throw new InvalidIntegrationEvent(e.id, problems);
        unique.set(`${e.org}|${e.id}`, e);
      }
      // In order: a consumer sees a run finish before it is told the run needs attention.
      for (const e of unique.values()) await publishOne(e);
    },
  };
}
