/**
 * Failure notifications to a job's integration contacts (and the organization's): a run Interrupted or Incomplete,
 * a run not completed within 24 hours of its start, a scheduled run that failed to start.
 *
 * One event, one e-mail: every event has a stable key (`eventKey`), and the sender records the key in an outbox with
 * a conditional write before it sends (adapters/dynamodb-outbox.ts, handlers/run-watch.ts), however often the checks
 * run or retry. The e-mail names the job, the run, what happened and where to look; it carries no data from the file
 * (no cell values, no problem texts that quote them): counts, codes, and paths only.
 */
import type { Run } from './runs.ts';

export type NotificationEvent =
  | { kind: 'run_failed'; org: string; run: Run }
  | { kind: 'run_overdue'; org: string; run: Run }
  /** Engineer S's schedule check: a scheduled run that should have started at `expectedAt` did not. */
  | { kind: 'schedule_missed'; org: string; jobId: string; jobName?: string; expectedAt: string; reason?: string };

/** The key an event is sent once under: a run fails once (its final status), is overdue once; a slot is missed once. */
export function eventKey(event: NotificationEvent): string {
  switch (event.kind) {
    case 'run_failed':
      return `run_failed#${event.run.runId}`;
    case 'run_overdue':
      return `run_overdue#${event.run.runId}`;
    case 'schedule_missed':
      return `schedule_missed#${event.jobId}#${event.expectedAt}`;
  }
}

/** Only a failed run is news: Interrupted or Incomplete. */
export function failureEvent(run: Run): NotificationEvent | undefined {
  return run.status === 'interrupted' || run.status === 'incomplete'
    ? { kind: 'run_failed', org: run.org, run }
    : undefined;
}

const EMAIL = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]+$/;

/** The job's contacts, then the organization's, each address once (case-insensitive), malformed ones left out. */
export function recipients(jobContacts: readonly unknown[] = [], orgContacts: readonly unknown[] = []): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of [...jobContacts, ...orgContacts]) {
    const address =
      typeof raw === 'string'
        ? raw.trim()
        : typeof raw === 'object' && raw
          ? (raw as { email?: unknown }).email
          : undefined;
    if (typeof address !== 'string') continue;
    const a = address.trim();
    if (!EMAIL.test(a) || seen.has(a.toLowerCase())) continue;
    seen.add(a.toLowerCase());
    out.push(a);
  }
  return out;
}

export interface EmailText {
  subject: string;
  text: string;
}

export interface EmailContext {
  /** The organization's display name. */
  orgName?: string;
  /** Where people read the reports (the API base URL, or a console), named in every e-mail. */
  reportsUrl?: string;
}

const duration = (ms: number) => {
  const hours = Math.floor(ms / 3600_000);
  const minutes = Math.floor((ms % 3600_000) / 60_000);
  return hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min`;
};

function jobLabel(run: Pick<Run, 'jobName' | 'jobId'>): string {
  return run.jobName ?? run.jobId ?? 'no job (the file matched none)';
}

/** Counts only: the numbers say what happened without quoting a row. */
function countsLine(run: Run): string {
  const c = run.counts;
  return `Rows read: ${c.rows}; created: ${c.created}; updated: ${c.updated}; unchanged: ${c.unchanged}; failed: ${c.failed}${c.overLimit ? `; not applied (record limit): ${c.overLimit}` : ''}.`;
}

function whereToLook(org: string, runId: string, run: Run | undefined, ctx: EmailContext): string[] {
  const base = ctx.reportsUrl?.replace(/\/+$/, '');
  return [
    'Where to look:',
    `- Need Attention report: run ${runId}${base ? ` (${base}/v1/runs/${runId}, its errors at ${base}/v1/runs/${runId}/errors)` : ''}`,
    ...(run?.outcomeKey
      ? ['- The failed rows with their errors: the outcome file next to the archived original in /archive on SFTP']
      : []),
    `- Organization: ${ctx.orgName ?? org}`,
  ];
}

/** The e-mail for an event: subject and plain text, no personal data from the file. */
export function composeEmail(event: NotificationEvent, now: Date, ctx: EmailContext = {}): EmailText {
  const footer = ['', 'You receive this because you are an integration contact of this job or organization.'];
  if (event.kind === 'schedule_missed') {
    const job = event.jobName ?? event.jobId;
    return {
      subject: `Integrator: scheduled run of "${job}" did not start`,
      text: [
        `The scheduled run of job "${job}" (${event.jobId}) due at ${event.expectedAt} did not start.`,
        ...(event.reason ? [`Reason: ${event.reason}`] : []),
        'No file was imported or exported for that slot; files waiting for it are taken by the next run, or run the job now.',
        '',
        'Where to look:',
        `- The job's upcoming runs and status${ctx.reportsUrl ? `: ${ctx.reportsUrl.replace(/\/+$/, '')}/v1/jobs/${event.jobId}` : ''}`,
        `- Organization: ${ctx.orgName ?? event.org}`,
        ...footer,
      ].join('\n'),
    };
  }
  const run = event.run;
  const job = jobLabel(run);
  if (event.kind === 'run_overdue') {
    return {
      subject: `Integrator: run of "${job}" not completed after 24 hours`,
      text: [
        `Run ${run.runId} of job "${job}" started at ${run.startedAt} and has not completed (running for ${duration(now.getTime() - Date.parse(run.startedAt))}).`,
        `File: ${run.file?.name ?? 'none'}.`,
        countsLine(run),
        '',
        ...whereToLook(event.org, run.runId, run, ctx),
        ...footer,
      ].join('\n'),
    };
  }
  const what =
    run.status === 'interrupted'
      ? `was interrupted: nothing more was imported from the file (reason: ${run.problem?.code ?? 'unknown'})`
      : 'completed with errors: some records were not imported';
  return {
    subject: `Integrator: run of "${job}" ${run.status === 'interrupted' ? 'interrupted' : 'incomplete'}`,
    text: [
      `Run ${run.runId} of job "${job}" ${what}.`,
      `File: ${run.file?.name ?? 'none'}. Started ${run.startedAt}${run.endedAt ? `, ended ${run.endedAt}` : ''}.`,
      countsLine(run),
      '',
      ...whereToLook(event.org, run.runId, run, ctx),
      ...footer,
    ].join('\n'),
  };
}

/**
 * The outbox's rule for a send attempt, given what the outbox holds for the event's key:
 * - nothing yet: the sender first records the event `pending` (so it is retried from the outbox, whatever happens to
 *   the run afterwards: an acknowledgement does not withdraw it), then claims it;
 * - `pending`: claim it (conditional on it still being attempt 0) and send;
 * - `sent`: done, never again;
 * - `sending` with its lease lapsed: the sender crashed between claiming and confirming; reclaim it (conditional on
 *   the attempt number) and send again, with the same Message-ID;
 * - `sending` within its lease: another sender is at it; leave it.
 */
export interface OutboxEntry {
  org: string;
  eventKey: string;
  status: 'pending' | 'sending' | 'sent';
  /** 0 while pending; the claim of attempt n requires the stored attempt to be n - 1. */
  attempt: number;
  leaseUntil: number;
  sentAt?: string;
  messageId?: string;
  /** The event as recorded when it happened (noticeOf: counts, codes and names only), for the retry to send. */
  event?: NotificationEvent;
  /** When the event was recorded. */
  pendingSince?: string;
}

export type OutboxDecision = { action: 'claim'; attempt: number } | { action: 'skip'; reason: 'sent' | 'in_flight' };

export function outboxDecision(entry: OutboxEntry | undefined, now: number): OutboxDecision {
  if (!entry) return { action: 'claim', attempt: 1 };
  if (entry.status === 'sent') return { action: 'skip', reason: 'sent' };
  if (entry.status === 'sending' && entry.leaseUntil > now) return { action: 'skip', reason: 'in_flight' };
  return { action: 'claim', attempt: entry.attempt + 1 };
}

/**
 * What the outbox keeps of an event: what the e-mail uses (names, times, counts, the problem's code, the outcome
 * file's existence), nothing else of the run (no problem messages or warnings, which may quote the file).
 */
export function noticeOf(event: NotificationEvent): NotificationEvent {
  if (event.kind === 'schedule_missed') return event;
  const r = event.run;
  const run: Run = {
    org: r.org,
    runId: r.runId,
    status: r.status,
    startedAt: r.startedAt,
    counts: r.counts,
    warnings: [],
    file: r.file,
    ...(r.jobId ? { jobId: r.jobId } : {}),
    ...(r.jobName ? { jobName: r.jobName } : {}),
    ...(r.endedAt ? { endedAt: r.endedAt } : {}),
    ...(r.problem ? { problem: { code: r.problem.code, message: r.problem.code } } : {}),
    ...(r.outcomeKey ? { outcomeKey: r.outcomeKey } : {}),
    ...(r.direction ? { direction: r.direction } : {}),
  };
  return { ...event, run };
}

/** The Message-ID of an event's e-mail: the same on every attempt, so a repeat after a crash is recognisably one. */
export function messageIdOf(org: string, key: string, domain: string): string {
  const safe = `${org}.${key}`.replace(/[^A-Za-z0-9.-]/g, '.');
  return `<${safe}@${domain}>`;
}
