/**
 * The one port behind which Microsoft Graph and Google Calendar sit (issue 14). The core decides what a change of our
 * calendar means for the external one (functions/core/calendar/); an adapter per provider (functions/adapters/) says
 * it in that provider's words, through its official client, and keeps the provider's rules that the core must not
 * know: idempotent creation (Graph `transactionId`, Google client-chosen ids), retries that honour Retry-After, at
 * most 4 requests in flight per Microsoft mailbox, token refresh.
 *
 * Tokens never cross this port: an adapter reads and writes a connection's grant through the `GrantVault`, which
 * encrypts at rest (KMS envelope encryption in AWS, a local key on the twin). MSAL keeps refresh tokens to itself,
 * so its cache plugin is the vault.
 */

export type CalendarProviderId = 'microsoft' | 'google';

/** In AWS, the environment variable naming each provider's OAuth client secret (lib/aws/calendar.ts sets it). */
export const PROVIDER_SECRET_ENV: Readonly<Record<CalendarProviderId, string>> = {
  google: 'CALENDAR_GOOGLE_SECRET_ARN',
  microsoft: 'CALENDAR_MICROSOFT_SECRET_ARN',
};

/** When an external event happens. All-day stays all-day on both providers, whatever the user's zone. */
export type ExternalWhen =
  | {
      kind: 'timed';
      /** Wall time `YYYY-MM-DDTHH:mm:ss` in `timeZone`. */
      start: string;
      end: string;
      /** IANA zone name (the adapter converts when a provider needs another form). */
      timeZone: string;
    }
  | {
      kind: 'allDay';
      /** `YYYY-MM-DD`. */
      startDate: string;
      /** `YYYY-MM-DD`, exclusive, as both providers define all-day ends. */
      endDate: string;
    };

/** What we write to the external calendar: already mapped from our event by the core's field mapping per kind. */
export interface ExternalEventBody {
  title: string;
  when: ExternalWhen;
  location?: string;
  /** Plain text; carries the case reference. */
  description: string;
  /** Minutes before the start for a reminder; undefined for none. */
  reminderMinutesBefore?: number;
  /**
   * Our event's id, stored on the external event (Graph: a single-value extended property; Google:
   * extendedProperties.private) so that the inbound half can recognise our own echoes.
   */
  integratorEventId: string;
}

/** The link's external half: the provider's id and version (Google etag, Graph changeKey). */
export interface ExternalEventRef {
  externalId: string;
  version: string;
}

export interface ExternalCalendar {
  id: string;
  name: string;
  primary: boolean;
  canEdit: boolean;
}

/** Who signed in during the OAuth flow: compared with the case manager before anything syncs. */
export interface SignedInAccount {
  /** Microsoft: the object id (oid); Google: the subject (sub). */
  accountId: string;
  email: string;
  /** Microsoft only: the tenant id (tid). */
  tenantId?: string;
}

/**
 * Why a provider call failed, after the adapter's own retries. Codes are stable; the core and the API decide what
 * each means for the connection (held, needs re-authentication, paused, parked).
 */
export type ProviderFailureCode =
  /** invalid_grant, AADSTS700082, a revoked or expired grant: the case manager must re-authenticate. */
  | 'reauth_required'
  /** AADSTS65001: the tenant's administrator has not consented. */
  | 'consent_required'
  /** Google quotaExceeded (daily quota): pause this user's pushes until the quota resets. */
  | 'quota_exceeded'
  /** 429 / 503 / 504 / rateLimitExceeded that outlasted the retries. `retryAfterMs` says when to try again. */
  | 'throttled'
  /** A 403 for an event the user does not organize: never answered by deleting and recreating it. */
  | 'not_organizer'
  /** The external event or calendar does not exist (404 / 410). */
  | 'not_found'
  /** The provider refused the request itself (400 and the like): retrying the same request will not help. */
  | 'rejected'
  /** Anything else (network, 500): worth retrying later. */
  | 'transient';

export class ProviderFailure extends Error {
  constructor(
    readonly code: ProviderFailureCode,
    message: string,
    readonly details: { status?: number; providerCode?: string; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'ProviderFailure';
  }
}

/** The OAuth 2.0 authorization code flow with PKCE and offline access, with the fewest scopes that work. */
export interface CalendarAuthorizer {
  readonly provider: CalendarProviderId;
  /** The URL the case manager's browser is sent to. `codeChallenge` is S256 of the verifier kept on our side. */
  authorizationUrl(input: {
    state: string;
    codeChallenge: string;
    redirectUri: string;
    loginHint?: string;
  }): Promise<string>;
  /**
   * Exchanges the code (with the PKCE verifier), stores the grant in the vault under `connectionId`, and says who
   * signed in. Throws ProviderFailure('consent_required') for AADSTS65001.
   */
  completeAuthorization(input: {
    connectionId: string;
    code: string;
    codeVerifier: string;
    redirectUri: string;
  }): Promise<SignedInAccount>;
  /** Microsoft only: the admin-consent URL for the firm's IT administrator. */
  adminConsentUrl?(input: { redirectUri: string; state: string; tenant?: string }): string;
  /** Revokes what the provider lets us revoke, and forgets the grant. Never throws for an already revoked grant. */
  disconnect(connectionId: string): Promise<void>;
}

/** One connection's calendar, with the grant stored under its connection id. */
export interface CalendarClient {
  listCalendars(): Promise<ExternalCalendar[]>;
  /**
   * Creates the event exactly once per `idempotencyKey` (stable for our event: a retry after a lost answer must not
   * make a second one). Graph: `transactionId`; Google: a client-chosen base32hex id, where a 409 for our own id
   * means "already created" and is reconciled with a GET.
   */
  createEvent(calendarId: string, body: ExternalEventBody, idempotencyKey: string): Promise<ExternalEventRef>;
  /** Sends no invitations (Google sendUpdates=none). */
  updateEvent(calendarId: string, externalId: string, body: ExternalEventBody): Promise<ExternalEventRef>;
  /** 'already_gone' for a 404 / 410: a delete retried after a lost answer is not an error. */
  deleteEvent(calendarId: string, externalId: string): Promise<'deleted' | 'already_gone'>;
}

export interface CalendarProvider {
  readonly id: CalendarProviderId;
  readonly authorizer: CalendarAuthorizer;
  client(connectionId: string): CalendarClient;
}

/** A connection's grant (serialized token cache or refresh token), encrypted at rest by the adapter behind it. */
export interface GrantVault {
  read(connectionId: string): Promise<string | undefined>;
  write(connectionId: string, grant: string): Promise<void>;
  forget(connectionId: string): Promise<void>;
}
