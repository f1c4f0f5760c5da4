/**
 * The one notice a case manager gets when their calendar needs re-authentication (a revoked or expired grant), sent
 * through the notifications outbox (Outbox + Mailer ports, as the run notifications are): its key is the connection
 * and its last authentication, so however many pushes fail meanwhile, the case manager hears of it once, and again
 * only after a new authentication has lapsed too. The e-mail carries no event data: what happened and what to do.
 */
import type { Clock, Mailer, Outbox } from '../ports.ts';
import { messageIdOf, outboxDecision } from '../transfer/notifications.ts';
import type { CalendarConnection, CaseManager } from './connections.ts';

export interface NoticeDeps {
  outbox: Outbox;
  mailer: Mailer;
  from: string;
  messageDomain: string;
  clock: Clock;
  /** Where the case manager re-authenticates (the app's calendar-sync page, or the API). */
  settingsUrl?: string;
}

const LEASE_MS = 5 * 60_000;

export function reauthNoticeKey(connection: CalendarConnection): string {
  return `calendar_reauth#${connection.connectionId}#${connection.lastAuthenticatedAt ?? connection.createdAt}`;
}

const PROVIDER_NAMES = { microsoft: 'Microsoft 365', google: 'Google Calendar' } as const;

export async function notifyReauthOnce(
  deps: NoticeDeps,
  connection: CalendarConnection,
  manager: CaseManager,
): Promise<boolean> {
  const key = reauthNoticeKey(connection);
  const now = deps.clock.now();
  const decision = outboxDecision(await deps.outbox.get(connection.org, key), now.getTime());
  if (decision.action === 'skip') return false;
  const claimed = await deps.outbox.claim({
    org: connection.org,
    eventKey: key,
    status: 'sending',
    attempt: decision.attempt,
    leaseUntil: now.getTime() + LEASE_MS,
  });
  if (!claimed) return false;
  const provider = PROVIDER_NAMES[connection.provider];
  const sent = await deps.mailer.send({
    from: deps.from,
    to: [manager.email],
    subject: `Calendar sync: sign in to ${provider} again`,
    text: [
      `Integrator can no longer write to your ${provider} calendar${connection.account ? ` (${connection.account.email})` : ''}: the permission you gave has been revoked or has expired.`,
      '',
      'Your changes are kept and will be sent once you sign in again: Setup > Subscriptions > Calendar Sync > Modify.',
      ...(deps.settingsUrl ? ['', deps.settingsUrl] : []),
    ].join('\n'),
    messageId: messageIdOf(connection.org, key, deps.messageDomain),
  });
  await deps.outbox.markSent(connection.org, key, decision.attempt, now.toISOString(), sent.providerId);
  return true;
}
