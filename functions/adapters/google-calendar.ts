/**
 * Google Calendar behind the calendar port (functions/core/calendar/provider.ts), through @googleapis/calendar and
 * the OAuth2 client it re-exports (one copy of google-auth-library).
 *
 * Scopes, the fewest that work:
 * - `calendar.calendarlist.readonly`: list the user's calendars so they can pick one (calendar.events.owned cannot
 *   list them; calendar.readonly would also read every event);
 * - `calendar.events.owned`: create, change and delete events on calendars the user owns, nothing else (no ACLs,
 *   no settings, no other people's calendars). So a calendar is offered as editable only when the user owns it;
 * - `openid` and `email`: an id token with `sub` and `email`: who signed in, compared with the case manager.
 * Offline access (`access_type=offline`, `prompt=consent` so that a re-authentication gets a new refresh token).
 * Google lets the user untick scopes on the consent screen: a sign-in without the calendar scopes is refused.
 *
 * Grants: the refresh token (and the current access token) are stored in the GrantVault as JSON, under the
 * connection id; refreshed tokens are written back. Nothing here logs a token.
 *
 * Calls: each request is one attempt of `withRetries` (calendar-retry.ts); the client library's own retry is off
 * (`retry: false`) so that retries are counted and waited in one place, for every method. Mirrored writes use
 * `sendUpdates=none`. Creation uses a client-chosen id from the idempotency key: a 409 for it means "already
 * created" and is answered with a GET of that event.
 */
import { auth, calendar, type calendar_v3 } from '@googleapis/calendar';
import { decodeJwt } from 'jose';
import {
  type CalendarAuthorizer,
  type CalendarClient,
  type CalendarProvider,
  type ExternalCalendar,
  type ExternalEventBody,
  type ExternalEventRef,
  type GrantVault,
  ProviderFailure,
  type SignedInAccount,
} from '../core/calendar/provider.ts';
import { type RetryPolicy, retryPolicy, withRetries } from './calendar-retry.ts';
import { googleErrorParts, judgeGoogleError } from './google-calendar-failures.ts';
import { googleEventId, googleEventInsert, googleEventPatch } from './google-calendar-mapping.ts';

const SCOPE = 'https://www.googleapis.com/auth/';
export const GOOGLE_API_SCOPES = [`${SCOPE}calendar.calendarlist.readonly`, `${SCOPE}calendar.events.owned`];
export const GOOGLE_SIGN_IN_SCOPES = ['openid', 'email', ...GOOGLE_API_SCOPES];

export interface GoogleCalendarConfig {
  clientId: string;
  clientSecret: string;
  /** Google's by default; the stand-in's `endpoints`. */
  endpoints?: { oauth2AuthBaseUrl: string; oauth2TokenUrl: string; oauth2RevokeUrl: string; tokenInfoUrl: string };
  /** `https://www.googleapis.com/` by default; the stand-in's `rootUrl`. */
  rootUrl?: string;
}

export interface GoogleCalendarDeps {
  vault: GrantVault;
  retry?: Partial<RetryPolicy>;
}

/** What the vault holds for a Google connection. */
interface GoogleGrant {
  refreshToken: string;
  accessToken?: string;
  expiryDate?: number;
  scope?: string;
}

type OAuth2 = InstanceType<typeof auth.OAuth2>;

export function googleCalendarProvider(config: GoogleCalendarConfig, deps: GoogleCalendarDeps): CalendarProvider {
  const policy = retryPolicy(deps.retry);

  function oauthClient(redirectUri?: string): OAuth2 {
    return new auth.OAuth2({
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      ...(redirectUri ? { redirectUri } : {}),
      ...(config.endpoints ? { endpoints: config.endpoints } : {}),
    });
  }

  async function readGrant(connectionId: string): Promise<GoogleGrant> {
    const stored = await deps.vault.read(connectionId);
    if (!stored) throw new ProviderFailure('reauth_required', 'The connection holds no Google grant.');
    return JSON.parse(stored) as GoogleGrant;
  }

  const authorizer: CalendarAuthorizer = {
    provider: 'google',
    async authorizationUrl(input) {
      return oauthClient(input.redirectUri).generateAuthUrl({
        access_type: 'offline',
        prompt: 'consent',
        scope: GOOGLE_SIGN_IN_SCOPES,
        state: input.state,
        code_challenge: input.codeChallenge,
        code_challenge_method: 'S256' as never,
        ...(input.loginHint ? { login_hint: input.loginHint } : {}),
      });
    },
    async completeAuthorization(input): Promise<SignedInAccount> {
      let tokens: {
        refresh_token?: string | null;
        access_token?: string | null;
        expiry_date?: number | null;
        scope?: string;
        id_token?: string | null;
      };
      try {
        ({ tokens } = await oauthClient(input.redirectUri).getToken({
          code: input.code,
          codeVerifier: input.codeVerifier,
          redirect_uri: input.redirectUri,
        }));
      } catch (error) {
        throw judgeGoogleError(error, 'read').failure;
      }
      if (!tokens.refresh_token)
        throw new ProviderFailure('rejected', 'Google granted no offline access (no refresh token).');
      const granted = new Set((tokens.scope ?? '').split(/\s+/));
      const missing = GOOGLE_API_SCOPES.filter((s) => !granted.has(s));
      if (missing.length) {
        throw new ProviderFailure(
          'rejected',
          `The sign-in did not grant ${missing.join(', ')}: Integrator cannot sync without it.`,
          {
            providerCode: 'scope_not_granted',
          },
        );
      }
      // The id token comes straight from the token endpoint over TLS: its origin is the token endpoint's (OpenID
      // Connect Core §3.1.3.7), so its claims are read without fetching Google's signing keys. The audience is checked.
      const claims = decodeJwt(tokens.id_token ?? '');
      const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!claims.sub || !audience.includes(config.clientId))
        throw new ProviderFailure('rejected', 'Google returned no valid id token.');
      const grant: GoogleGrant = {
        refreshToken: tokens.refresh_token,
        ...(tokens.access_token ? { accessToken: tokens.access_token } : {}),
        ...(tokens.expiry_date ? { expiryDate: tokens.expiry_date } : {}),
        ...(tokens.scope ? { scope: tokens.scope } : {}),
      };
      await deps.vault.write(input.connectionId, JSON.stringify(grant));
      return { accountId: claims.sub, email: typeof claims.email === 'string' ? claims.email : '' };
    },
    async disconnect(connectionId) {
      const stored = await deps.vault.read(connectionId);
      if (stored) {
        const grant = JSON.parse(stored) as GoogleGrant;
        try {
          await oauthClient().revokeToken(grant.refreshToken);
        } catch (error) {
          // Already revoked (400 invalid_token) is what we wanted; anything else must not keep the grant either.
          const { status } = googleErrorParts(error);
          if (status !== 400 && status !== undefined && status < 500) throw judgeGoogleError(error, 'delete').failure;
        }
      }
      await deps.vault.forget(connectionId);
    },
  };

  function client(connectionId: string): CalendarClient {
    let api: Promise<{ oauth: OAuth2; cal: calendar_v3.Calendar }> | undefined;

    function connect() {
      api ??= (async () => {
        const grant = await readGrant(connectionId);
        const oauth = oauthClient();
        oauth.setCredentials({
          refresh_token: grant.refreshToken,
          ...(grant.accessToken ? { access_token: grant.accessToken } : {}),
          ...(grant.expiryDate ? { expiry_date: grant.expiryDate } : {}),
        });
        oauth.on('tokens', (tokens) => {
          const next: GoogleGrant = {
            ...grant,
            refreshToken: tokens.refresh_token ?? grant.refreshToken,
            ...(tokens.access_token ? { accessToken: tokens.access_token } : {}),
            ...(tokens.expiry_date ? { expiryDate: tokens.expiry_date } : {}),
          };
          void deps.vault.write(connectionId, JSON.stringify(next)).catch(() => {});
        });
        const cal = calendar({
          version: 'v3',
          auth: oauth,
          retry: false,
          ...(config.rootUrl ? { rootUrl: config.rootUrl } : {}),
        });
        return { oauth, cal };
      })();
      api.catch(() => {
        api = undefined;
      });
      return api;
    }

    /** One request with the retry rules; a 401 drops the access token and refreshes once within the attempt. */
    function call<T>(
      operation: 'read' | 'create' | 'update' | 'delete',
      request: (cal: calendar_v3.Calendar) => Promise<T>,
    ): Promise<T> {
      return withRetries(
        policy,
        async () => {
          const { oauth, cal } = await connect();
          try {
            return await request(cal);
          } catch (error) {
            if (googleErrorParts(error).status !== 401) throw error;
            oauth.setCredentials({ refresh_token: oauth.credentials.refresh_token });
            return await request(cal);
          }
        },
        (error) => judgeGoogleError(error, operation),
      );
    }

    const ref = (event: calendar_v3.Schema$Event): ExternalEventRef => ({
      externalId: event.id ?? '',
      version: event.etag ?? '',
    });

    return {
      async listCalendars(): Promise<ExternalCalendar[]> {
        const calendars: ExternalCalendar[] = [];
        let pageToken: string | undefined;
        do {
          const token = pageToken;
          const page = await call('read', (cal) =>
            cal.calendarList.list({ maxResults: 250, ...(token ? { pageToken: token } : {}) }).then((r) => r.data),
          );
          for (const entry of page.items ?? []) {
            calendars.push({
              id: entry.id ?? '',
              name: entry.summaryOverride ?? entry.summary ?? entry.id ?? '',
              primary: entry.primary === true,
              // calendar.events.owned writes only where the user is the owner.
              canEdit: entry.accessRole === 'owner',
            });
          }
          pageToken = page.nextPageToken ?? undefined;
        } while (pageToken);
        return calendars;
      },
      async createEvent(calendarId: string, body: ExternalEventBody, idempotencyKey: string) {
        const id = googleEventId(idempotencyKey);
        return call('create', async (cal) => {
          try {
            const made = await cal.events.insert({
              calendarId,
              sendUpdates: 'none',
              requestBody: googleEventInsert(body, id),
            });
            return ref(made.data);
          } catch (error) {
            if (googleErrorParts(error).status !== 409) throw error;
            // Our own id already exists: an earlier attempt created it (its answer was lost). Read it back.
            const existing = (await cal.events.get({ calendarId, eventId: id })).data;
            if (existing.extendedProperties?.private?.integratorEventId !== body.integratorEventId) {
              throw new ProviderFailure('rejected', `Google event ${id} exists and is not this event's.`, {
                status: 409,
              });
            }
            if (existing.status === 'cancelled') {
              throw new ProviderFailure('not_found', `Google event ${id} was created and deleted since.`, {
                status: 409,
              });
            }
            return ref(existing);
          }
        });
      },
      async updateEvent(calendarId: string, externalId: string, body: ExternalEventBody) {
        return call('update', async (cal) => {
          const changed = await cal.events.patch({
            calendarId,
            eventId: externalId,
            sendUpdates: 'none',
            requestBody: googleEventPatch(body) as calendar_v3.Schema$Event,
          });
          return ref(changed.data);
        });
      },
      async deleteEvent(calendarId: string, externalId: string) {
        try {
          await call('delete', (cal) => cal.events.delete({ calendarId, eventId: externalId, sendUpdates: 'none' }));
          return 'deleted';
        } catch (error) {
          if (error instanceof ProviderFailure && error.code === 'not_found') return 'already_gone';
          throw error;
        }
      },
    };
  }

  return { id: 'google', authorizer, client };
}
