/**
 * One pass of the run watch (handlers/run-watch.ts runs it on a schedule; the twin on a timer):
 *  1. every running run: ended Interrupted when it stalled (run-watch.ts), or notified once when overdue (24 h);
 *  2. every organization's Need Attention runs of the last `lookbackMs`: notified once each.
 * Repeating a pass, or running two at once, sends nothing twice: `notifyOnce` goes through the outbox.
 *
 * The send guarantee: an event's e-mail is sent at least once and, barring one crash window, exactly once. The outbox
 * entry is claimed (conditional create) before the send and marked sent after it. A sender that dies after claiming
 * leaves a `sending` entry whose lease lapses; the next pass reclaims it (conditional on the attempt) and sends again.
 * Only a death between the provider accepting the message and the mark can therefore produce a second copy, and that
 * copy carries the same Message-ID (mail clients fold it into the first). A send the provider refuses is not marked:
 * the next pass after the lease retries it.
 */
import { eventsOfEndedRun } from '../integration-events.ts';
import type { Clock, ContactDirectory, IntegrationEvents, Mailer, Outbox, RunWatchStore } from '../ports.ts';
import {
  composeEmail,
  type EmailContext,
  eventKey,
  failureEvent,
  messageIdOf,
  type NotificationEvent,
  outboxDecision,
  recipients,
} from './notifications.ts';
import { DEFAULT_RUN_WATCH, judgeRunningRun, type RunWatchSettings, stalledRun } from './run-watch.ts';

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
  const decision = outboxDecision(await deps.outbox.get(event.org, key), now.getTime());
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
}

export interface WatchReport {
  interrupted: string[];
  overdue: string[];
  notified: number;
  failures: { key: string; error: string }[];
}

export async function runWatchCycle(deps: WatchDeps): Promise<WatchReport> {
  const report: WatchReport = { interrupted: [], overdue: [], notified: 0, failures: [] };
  const settings = deps.settings ?? DEFAULT_RUN_WATCH;
  // One event's failure (a refused send) must not keep the others from being sent.
  const attempt = async (event: NotificationEvent) => {
    try {
      if (event.kind === 'run_failed') await deps.events?.publish(eventsOfEndedRun(event.run));
      if ((await notifyOnce(deps, event)) === 'sent') report.notified++;
    } catch (err) {
      report.failures.push({
        key: `${event.org}/${eventKey(event)}`,
        error: err instanceof Error ? err.message : String(err),
      });
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
    for await (const run of deps.store.failedSince(org, since)) {
      const event = failureEvent(run);
      if (event) await attempt(event);
    }
  }
  return report;
}
