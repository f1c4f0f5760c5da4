/**
 * Failure notifications, sent when the run ends and retried by the run watch.
 *
 * A run that ends Interrupted or Incomplete is e-mailed at once by the function that ended it: its run log is wrapped
 * (`withFailureNotices`), so the save of the final status records the event in the outbox and sends it. The run watch
 * (handlers/run-watch.ts on a schedule; the twin on a timer) only retries. One pass:
 *  1. every running run: ended Interrupted when it stalled (run-watch.ts), or notified once when overdue (24 h);
 *  2. every organization's unsent outbox entries (a send refused, a sender that died): sent, once;
 *  3. every organization's Need Attention runs of the last `lookbackMs`: notified once each (the net for a run whose
 *     function died between the save and the outbox).
 * Repeating a pass, or running two at once, sends nothing twice: `notifyOnce` goes through the outbox. An
 * acknowledgement takes a run out of Need Attention, but not its event out of the outbox: it is still sent.
 *
 * The send guarantee: an event's e-mail is sent at least once and, barring one crash window, exactly once. The outbox
 * entry is claimed (conditional create) before the send and marked sent after it. A sender that dies after claiming
 * leaves a `sending` entry whose lease lapses; the next pass reclaims it (conditional on the attempt) and sends again.
 * Only a death between the provider accepting the message and the mark can therefore produce a second copy, and that
 * copy carries the same Message-ID (mail clients fold it into the first). A send the provider refuses is not marked:
 * the next pass after the lease retries it.
 */
import { eventsOfEndedRun } from '../integration-events.ts';
import type { Clock, ContactDirectory, IntegrationEvents, Mailer, Outbox, RunLog, RunWatchStore } from '../ports.ts';
import {
  DEFAULT_MISSED_FIRINGS,
  findMissedFirings,
  type MissedFiringDeps,
  type MissedFiringSettings,
} from './missed-firings.ts';
import {
  composeEmail,
  type EmailContext,
  eventKey,
  failureEvent,
  messageIdOf,
  type NotificationEvent,
  noticeOf,
  type OutboxEntry,
  outboxDecision,
  recipients,
} from './notifications.ts';
import { DEFAULT_RUN_WATCH, judgeRunningRun, type RunWatchSettings, stalledRun } from './run-watch.ts';
import type { Run } from './runs.ts';

export interface NotifyDeps {
  outbox: Outbox;
  mailer: Mailer;
  contacts: ContactDirectory;
  clock: Clock;
  /** The sender address (a verified SES identity). */
  from: string;
  /** The domain of Message-IDs. */
  messageDomain: string;
  /** How long a claim holds before another sender may retry (default 5 minutes). */
  sendLeaseMs?: number;
  reportsUrl?: string;
}

export type NotifyOutcome = 'sent' | 'already_sent' | 'in_flight' | 'lost_claim' | 'no_recipients';

export async function notifyOnce(deps: NotifyDeps, event: NotificationEvent): Promise<NotifyOutcome> {
  const key = eventKey(event);
  const now = deps.clock.now();
  let entry = await deps.outbox.get(event.org, key);
  if (!entry) {
    // Recorded first: should this sender die or the send be refused, the watch finds it in the outbox.
    const pending: OutboxEntry = {
      org: event.org,
      eventKey: key,
      status: 'pending',
      attempt: 0,
      leaseUntil: 0,
      event: noticeOf(event),
      pendingSince: now.toISOString(),
    };
    entry = (await deps.outbox.enqueue(pending)) ? pending : await deps.outbox.get(event.org, key);
  }
  const decision = outboxDecision(entry, now.getTime());
  if (decision.action === 'skip') return decision.reason === 'sent' ? 'already_sent' : 'in_flight';
  const jobId = event.kind === 'schedule_missed' ? event.jobId : event.run.jobId;
  const found = await deps.contacts.contactsFor(event.org, jobId);
  const to = recipients(found.jobContacts, found.orgContacts);
  const claimed = await deps.outbox.claim({
    org: event.org,
    eventKey: key,
    status: 'sending',
    attempt: decision.attempt,
    leaseUntil: now.getTime() + (deps.sendLeaseMs ?? 5 * 60_000),
  });
  if (!claimed) return 'lost_claim';
  if (to.length === 0) {
    // Nobody to tell: recorded as handled, so it is not retried every pass (the run is in Need Attention anyway).
    await deps.outbox.markSent(event.org, key, decision.attempt, now.toISOString());
    return 'no_recipients';
  }
  const ctx: EmailContext = {
    ...(found.orgName ? { orgName: found.orgName } : {}),
    ...(deps.reportsUrl ? { reportsUrl: deps.reportsUrl } : {}),
  };
  const mail = composeEmail(event, now, ctx);
  const sent = await deps.mailer.send({
    from: deps.from,
    to,
    subject: mail.subject,
    text: mail.text,
    messageId: messageIdOf(event.org, key, deps.messageDomain),
  });
  await deps.outbox.markSent(event.org, key, decision.attempt, deps.clock.now().toISOString(), sent.providerId);
  return 'sent';
}

export interface WatchDeps extends NotifyDeps {
  store: RunWatchStore;
  settings?: RunWatchSettings;
  /** How far back Need Attention runs are notified (default 2 days; older failures were notified by earlier passes). */
  lookbackMs?: number;
  /** A failed run's integration events: published with its notification (again each pass: once per fact). */
  events?: IntegrationEvents;
  /**
   * The missed-firing check (missed-firings.ts): scheduled jobs and their recorded firings. `clock` is the schedules'
   * time (the twin's scheduler clock, which tests move; the real one in AWS), default `clock`.
   */
  missedFirings?: MissedFiringDeps & { clock?: Clock; settings?: MissedFiringSettings };
}

export interface WatchReport {
  interrupted: string[];
  overdue: string[];
  /** `<org>/<jobId>@<time>` of each missed firing notified by this pass (later passes find it again, send nothing). */
  missed: string[];
  notified: number;
  failures: { key: string; error: string }[];
}

export async function runWatchCycle(deps: WatchDeps): Promise<WatchReport> {
  const report: WatchReport = { interrupted: [], overdue: [], missed: [], notified: 0, failures: [] };
  const settings = deps.settings ?? DEFAULT_RUN_WATCH;
  // One event's failure (a refused send) must not keep the others from being sent.
  const attempt = async (event: NotificationEvent): Promise<NotifyOutcome | undefined> => {
    try {
      if (event.kind === 'run_failed') await deps.events?.publish(eventsOfEndedRun(event.run));
      const outcome = await notifyOnce(deps, event);
      if (outcome === 'sent') report.notified++;
      return outcome;
    } catch (err) {
      report.failures.push({
        key: `${event.org}/${eventKey(event)}`,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
  };

  for await (const run of deps.store.runningRuns()) {
    const now = deps.clock.now();
    const decision = judgeRunningRun(run, await deps.store.lifeSigns(run), now, settings);
    if (decision.action === 'interrupt') {
      const ended = stalledRun(run, decision.problem, now);
      if (await deps.store.interrupt(run, ended)) {
        report.interrupted.push(`${run.org}/${run.runId}`);
        await attempt({ kind: 'run_failed', org: run.org, run: ended });
      }
    } else if (decision.action === 'overdue') {
      report.overdue.push(`${run.org}/${run.runId}`);
      await attempt({ kind: 'run_overdue', org: run.org, run });
    }
  }

  const since = new Date(deps.clock.now().getTime() - (deps.lookbackMs ?? 2 * 24 * 3600_000));
  for (const org of await deps.store.organizations()) {
    for await (const entry of deps.outbox.unsent(org)) if (entry.event) await attempt(entry.event);
    if (deps.missedFirings) {
      const m = deps.missedFirings;
      const now = (m.clock ?? deps.clock).now();
      try {
        for (const event of await findMissedFirings(m, org, now, m.settings ?? DEFAULT_MISSED_FIRINGS)) {
          const outcome = await attempt(event);
          // Newly handled only: a firing already notified is found again by later passes and sends nothing.
          if (event.kind === 'schedule_missed' && (outcome === 'sent' || outcome === 'no_recipients')) {
            report.missed.push(`${org}/${event.jobId}@${event.expectedAt}`);
          }
        }
      } catch (err) {
        report.failures.push({ key: `${org}/missed-firings`, error: err instanceof Error ? err.message : String(err) });
      }
    }
    for await (const run of deps.store.failedSince(org, since)) {
      const event = failureEvent(run);
      if (event) await attempt(event);
    }
  }
  return report;
}

/**
 * The run log of a function that ends runs (the import, the export): saving a run Interrupted or Incomplete also
 * sends its notification at once (`notify`: notifyOnce). The save comes first and stands whatever the notification
 * does; a notification that fails is reported to `onError` and left in the outbox for the run watch to retry.
 */
export function withFailureNotices<L extends RunLog>(
  runLog: L,
  notify: (event: NotificationEvent) => Promise<unknown>,
  onError: (err: unknown, event: NotificationEvent) => void,
): L {
  return {
    // Every other method as it is (the adapters' methods are closures, not `this`-bound).
    ...runLog,
    async save(run: Run) {
      await runLog.save(run);
      const event = failureEvent(run);
      if (!event) return;
      try {
        await notify(event);
      } catch (err) {
        onError(err, event);
      }
    },
  };
}
