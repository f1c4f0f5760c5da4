/**
 * Subscriptions, case managers and their connections to an external calendar (issue 14), and the rules of the
 * connection's life:
 *
 *   authorizing --callback, right account--> choose_calendar --calendar picked--> active
 *        |--callback, someone else signed in--> held_wrong_account (nothing syncs; shown to the case manager and admin)
 *        '--AADSTS65001--> consent_required (the firm's IT administrator must consent; the admin-consent URL helps)
 *   active --invalid_grant / AADSTS700082--> needs_reauth --"modify" (re-authenticate), right account--> active
 *   any --disconnect--> disconnected (the grant revoked and forgotten; the case manager may connect again)
 *
 * The seed's warning: an IT administrator who consents and signs in may end up connecting their own calendar. So a
 * connection is only completed when the signed-in account is the case manager's, by e-mail (case-insensitive) or by
 * a user id the admin recorded for them (Microsoft object id, Google subject).
 */
import { createHash } from 'node:crypto';
import type { CalendarEventKind } from './events.ts';
import type { CalendarProviderId, SignedInAccount } from './provider.ts';

export const PROVIDERS: readonly CalendarProviderId[] = ['microsoft', 'google'];

export interface CalendarSubscription {
  org: string;
  status: 'active';
  subscribedAt: string;
  subscribedBy: string;
}

export interface CaseManager {
  org: string;
  /** The user's id in our user pool (the token's `sub`): who may connect this case manager's calendar. */
  userId: string;
  email: string;
  name?: string;
  /** Ids the signed-in account may have instead of a matching e-mail: Microsoft oid, Google sub. */
  externalUserIds?: string[];
  /** The case manager's current connection (at most one at a time). */
  connectionId?: string;
  addedAt: string;
  addedBy: string;
}

export type ConnectionStatus =
  | 'authorizing'
  | 'choose_calendar'
  | 'active'
  | 'held_wrong_account'
  | 'consent_required'
  | 'needs_reauth'
  | 'disconnected';

/** Per connection, what the inbound half (webhooks, delta queries; a later issue) keeps. */
export interface InboundState {
  /** Graph subscription id, or Google channel id with its resource id. */
  subscriptionId?: string;
  channelId?: string;
  resourceId?: string;
  /** When the subscription or channel expires (ISO). */
  expiresAt?: string;
  /** Graph delta link / Google sync token. */
  deltaLink?: string;
  syncToken?: string;
}

export interface CalendarConnection {
  org: string;
  connectionId: string;
  caseManagerId: string;
  provider: CalendarProviderId;
  status: ConnectionStatus;
  /** Sync case step reminders too (opt-in; appointments, court and interview dates always sync). */
  stepReminders: boolean;
  /** Who signed in when the connection was last completed. */
  account?: SignedInAccount;
  /** Who signed in when the connection was held: not the case manager. */
  heldAccount?: SignedInAccount;
  calendarId?: string;
  calendarName?: string;
  createdAt: string;
  lastAuthenticatedAt?: string;
  /** When the connection first became active: changes made before are not pushed (the seed's rule). */
  activatedAt?: string;
  /** When a push found the grant revoked or expired. */
  reauthRequiredAt?: string;
  /** Google quotaExceeded: this user's pushes wait until then. */
  pausedUntil?: string;
  pauseReason?: string;
  disconnectedAt?: string;
  /** What the provider said, for the case manager (consent required, wrong account). */
  message?: string;
  inbound?: InboundState;
}

/** The kinds a connection syncs: everything but step reminders, which are opt-in. */
export function syncsKind(connection: Pick<CalendarConnection, 'stepReminders'>, kind: CalendarEventKind): boolean {
  if (kind === 'step_reminder') return connection.stepReminders;
  return kind === 'appointment' || kind === 'court_date' || kind === 'interview_date';
}

/** Whether the account that signed in is the case manager's own. */
export function isCaseManagersAccount(manager: CaseManager, account: SignedInAccount): boolean {
  if (account.email && account.email.trim().toLowerCase() === manager.email.trim().toLowerCase()) return true;
  return (manager.externalUserIds ?? []).includes(account.accountId);
}

/** The connection after the provider's callback said who signed in. */
export function completeConnection(
  connection: CalendarConnection,
  manager: CaseManager,
  account: SignedInAccount,
  now: Date,
): CalendarConnection {
  const at = now.toISOString();
  if (!isCaseManagersAccount(manager, account)) {
    const { account: _kept, ...rest } = connection;
    return {
      ...rest,
      ...(connection.account ? { account: connection.account } : {}),
      status: 'held_wrong_account',
      heldAccount: account,
      message: `signed in as ${account.email}, not as the case manager ${manager.email}: nothing is synced; sign in again with the case manager's own account`,
    };
  }
  const { heldAccount: _h, message: _m, reauthRequiredAt: _r, ...rest } = connection;
  // Re-authentication of a connection that already had its calendar resumes it; a first one picks a calendar.
  const status = connection.calendarId && connection.activatedAt ? 'active' : 'choose_calendar';
  return { ...rest, status, account, lastAuthenticatedAt: at };
}

/** The connection after the case manager picked a calendar: active from now on (changes from now on are pushed). */
export function chooseCalendar(
  connection: CalendarConnection,
  calendar: { id: string; name: string },
  now: Date,
): CalendarConnection {
  return {
    ...connection,
    status: 'active',
    calendarId: calendar.id,
    calendarName: calendar.name,
    activatedAt: connection.activatedAt ?? now.toISOString(),
  };
}

/** Whether pushes go out now; otherwise they are queued (needs_reauth, paused) or not made at all. */
export type ConnectionReadiness = 'ready' | 'queue' | 'inactive';

export function readiness(connection: CalendarConnection, now: Date): ConnectionReadiness {
  if (connection.status === 'needs_reauth') return 'queue';
  if (connection.status !== 'active' || !connection.calendarId) return 'inactive';
  if (connection.pausedUntil && Date.parse(connection.pausedUntil) > now.getTime()) return 'queue';
  return 'ready';
}

/** PKCE S256 (RFC 7636 section 4.2): BASE64URL(SHA256(ASCII(code_verifier))). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** A verifier of 64 unreserved characters (RFC 7636 wants 43 to 128) from the caller's randomness. */
export const PKCE_VERIFIER_LENGTH = 64;

/** OAuth states live ten minutes: long enough to sign in with two-step verification, short enough to be useless later. */
export const STATE_TTL_SECONDS = 600;

/** The OAuth state the server keeps between "connect" and the provider's callback. */
export interface AuthorizationState {
  org: string;
  state: string;
  connectionId: string;
  caseManagerId: string;
  provider: CalendarProviderId;
  codeVerifier: string;
  redirectUri: string;
  /** Epoch seconds (the table's TTL attribute). */
  expiresAt: number;
}

/** The state parameter sent to the provider: the organization (to find the kept state) and a random part. */
export function stateParameter(org: string, token: string): string {
  return `${org}.${token}`;
}

export function orgOfState(state: string): string | undefined {
  const dot = state.indexOf('.');
  if (dot <= 0) return undefined;
  const org = state.slice(0, dot);
  return /^[a-z0-9][a-z0-9-]{0,62}$/.test(org) ? org : undefined;
}

/** Google's daily quota resets at midnight Pacific time: the next one after `now`. */
export function nextPacificMidnight(now: Date): Date {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const [y, m, d] = [get('year'), get('month'), get('day')];
  // Pacific midnight is 07:00 or 08:00 UTC: take whichever is midnight there.
  for (const hour of [7, 8]) {
    const candidate = new Date(Date.UTC(y, m - 1, d + 1, hour));
    const h = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/Los_Angeles',
      hour: 'numeric',
      hourCycle: 'h23',
    }).format(candidate);
    if (Number(h) === 0) return candidate;
  }
  return new Date(Date.UTC(y, m - 1, d + 1, 8));
}
