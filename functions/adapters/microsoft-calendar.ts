/**
 * Microsoft 365 behind the calendar port (functions/core/calendar/provider.ts), through MSAL Node and the Graph
 * client.
 *
 * Scopes, the fewest that work: `Calendars.ReadWrite` (list the user's calendars, write events in the one they
 * pick; Calendars.Read would not allow writing and no narrower write scope exists), `offline_access` (a refresh
 * token, so pushes go on without the user), `openid` and `profile` (an id token with oid, tid and
 * preferred_username: who signed in, compared with the case manager; MSAL adds the three itself). Not `User.Read`
 * nor `email`: /me is never read, and preferred_username with oid/tid identify the account.
 *
 * Grants: MSAL keeps refresh tokens to itself, so each connection has its own token cache, loaded from and saved to
 * the GrantVault by MSAL's cache plugin (the vault encrypts at rest). Nothing here logs a token.
 *
 * Calls: each Graph request is one attempt of `withRetries` (calendar-retry.ts: 429/503/504 honouring Retry-After,
 * network failures; every method), at most 4 in flight per connection's mailbox; the Graph client's own
 * RetryHandler is left out of its middleware so that retries are counted and waited in one place. A 401 refreshes
 * the access token once (forceRefresh) before the grant is declared revoked.
 */
import {
  type AccountInfo,
  ConfidentialClientApplication,
  type Configuration,
  type ICachePlugin,
  LogLevel,
} from '@azure/msal-node';
import { AuthenticationHandler, Client, HTTPMessageHandler } from '@microsoft/microsoft-graph-client';
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
import { ConcurrencyLimiter, type RetryPolicy, retryPolicy, withRetries } from './calendar-retry.ts';
import { judgeGraphError, msalFailure } from './microsoft-calendar-failures.ts';
import { type GraphEvent, graphEventBody } from './microsoft-calendar-mapping.ts';

export const MICROSOFT_API_SCOPES = ['Calendars.ReadWrite'];
/** Asked for at sign-in; MSAL adds openid, profile and offline_access to these itself. */
export const MICROSOFT_SIGN_IN_SCOPES = ['offline_access', 'openid', 'profile', ...MICROSOFT_API_SCOPES];

export interface MicrosoftCalendarConfig {
  clientId: string;
  clientSecret: string;
  /** e.g. `https://login.microsoftonline.com/organizations` (multi-tenant, work accounts). */
  authority: string;
  /** Needed for an authority MSAL does not know (the stand-in): with `authorityMetadata`, no discovery call. */
  knownAuthorities?: string[];
  /** The authority's OpenID metadata as a JSON string (the stand-in's `authorityMetadata()`). */
  authorityMetadata?: string;
  /** `https://graph.microsoft.com` by default. */
  graphBaseUrl?: string;
  /** Hosts besides graph.microsoft.com that get the access token (the stand-in's `127.0.0.1`, no port). */
  customHosts?: Set<string>;
  /** Requests in flight per mailbox (Outlook allows 4). */
  concurrencyPerMailbox?: number;
}

export interface MicrosoftCalendarDeps {
  vault: GrantVault;
  retry?: Partial<RetryPolicy>;
}

/** MSAL's cache plugin over the vault: one serialized cache per connection. `fresh` ignores a previous grant. */
function vaultCachePlugin(vault: GrantVault, connectionId: string, fresh = false): ICachePlugin {
  let ignoreStored = fresh;
  return {
    async beforeCacheAccess(context) {
      if (ignoreStored) {
        ignoreStored = false;
        return;
      }
      const stored = await vault.read(connectionId);
      if (stored) context.tokenCache.deserialize(stored);
    },
    async afterCacheAccess(context) {
      if (context.cacheHasChanged) await vault.write(connectionId, context.tokenCache.serialize());
    },
  };
}

export function microsoftCalendarProvider(
  config: MicrosoftCalendarConfig,
  deps: MicrosoftCalendarDeps,
): CalendarProvider {
  const policy = retryPolicy(deps.retry);
  const limiter = new ConcurrencyLimiter(config.concurrencyPerMailbox ?? 4);
  const graphBaseUrl = (config.graphBaseUrl ?? 'https://graph.microsoft.com').replace(/\/$/, '');

  /** An MSAL application whose token cache is the connection's grant (none for building a sign-in URL). */
  function msal(connectionId?: string, fresh = false): ConfidentialClientApplication {
    const configuration: Configuration = {
      auth: {
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        authority: config.authority,
        ...(config.knownAuthorities ? { knownAuthorities: config.knownAuthorities } : {}),
        ...(config.authorityMetadata ? { authorityMetadata: config.authorityMetadata } : {}),
      },
      ...(connectionId ? { cache: { cachePlugin: vaultCachePlugin(deps.vault, connectionId, fresh) } } : {}),
      system: { loggerOptions: { piiLoggingEnabled: false, logLevel: LogLevel.Error, loggerCallback: () => {} } },
    };
    return new ConfidentialClientApplication(configuration);
  }

  function graph(accessToken: string): Client {
    const auth = new AuthenticationHandler({ getAccessToken: async () => accessToken });
    auth.setNext(new HTTPMessageHandler());
    return Client.initWithMiddleware({
      middleware: auth,
      baseUrl: graphBaseUrl,
      defaultVersion: 'v1.0',
      ...(config.customHosts ? { customHosts: config.customHosts } : {}),
    });
  }

  const authorizer: CalendarAuthorizer = {
    provider: 'microsoft',
    async authorizationUrl(input) {
      try {
        return await msal().getAuthCodeUrl({
          scopes: MICROSOFT_SIGN_IN_SCOPES,
          redirectUri: input.redirectUri,
          state: input.state,
          codeChallenge: input.codeChallenge,
          codeChallengeMethod: 'S256',
          responseMode: 'query',
          prompt: 'select_account',
          ...(input.loginHint ? { loginHint: input.loginHint } : {}),
        });
      } catch (error) {
        throw msalFailure(error);
      }
    },
    async completeAuthorization(input): Promise<SignedInAccount> {
      let result: Awaited<ReturnType<ConfidentialClientApplication['acquireTokenByCode']>>;
      try {
        result = await msal(input.connectionId, true).acquireTokenByCode({
          code: input.code,
          codeVerifier: input.codeVerifier,
          redirectUri: input.redirectUri,
          scopes: MICROSOFT_SIGN_IN_SCOPES,
        });
      } catch (error) {
        throw msalFailure(error);
      }
      const account = result?.account;
      if (!account) throw new ProviderFailure('rejected', 'Microsoft returned no account for the sign-in.');
      const claims = (account.idTokenClaims ?? {}) as {
        oid?: string;
        tid?: string;
        preferred_username?: string;
        email?: string;
      };
      return {
        accountId: claims.oid ?? account.localAccountId,
        email: claims.email ?? claims.preferred_username ?? account.username,
        tenantId: claims.tid ?? account.tenantId,
      };
    },
    adminConsentUrl(input) {
      const instance = config.authority.replace(/\/[^/]+\/?$/, '');
      const url = new URL(`${instance}/${encodeURIComponent(input.tenant ?? 'organizations')}/v2.0/adminconsent`);
      url.searchParams.set('client_id', config.clientId);
      url.searchParams.set('scope', MICROSOFT_API_SCOPES.map((s) => `https://graph.microsoft.com/${s}`).join(' '));
      url.searchParams.set('redirect_uri', input.redirectUri);
      url.searchParams.set('state', input.state);
      return url.toString();
    },
    async disconnect(connectionId) {
      // The identity platform offers no endpoint for revoking one application's refresh token (only an
      // administrator's revokeSignInSessions, for all of a user's apps): forgetting the cache is what can be done.
      await deps.vault.forget(connectionId);
    },
  };

  function client(connectionId: string): CalendarClient {
    const app = msal(connectionId);

    async function account(): Promise<AccountInfo> {
      let accounts: AccountInfo[];
      try {
        accounts = await app.getTokenCache().getAllAccounts();
      } catch (error) {
        throw msalFailure(error);
      }
      const first = accounts[0];
      if (!first) throw new ProviderFailure('reauth_required', 'The connection holds no Microsoft grant.');
      return first;
    }

    async function accessToken(forceRefresh: boolean): Promise<string> {
      try {
        const result = await app.acquireTokenSilent({
          account: await account(),
          scopes: MICROSOFT_API_SCOPES,
          forceRefresh,
        });
        if (!result?.accessToken) throw new ProviderFailure('reauth_required', 'Microsoft returned no access token.');
        return result.accessToken;
      } catch (error) {
        throw msalFailure(error);
      }
    }

    /** One Graph call with the retry rules; a 401 refreshes the token once within the attempt. */
    function call<T>(
      operation: 'read' | 'create' | 'update' | 'delete',
      request: (client: Client) => Promise<T>,
    ): Promise<T> {
      return withRetries(
        policy,
        () =>
          limiter.run(connectionId, async () => {
            try {
              return await request(graph(await accessToken(false)));
            } catch (error) {
              if ((error as { statusCode?: number }).statusCode !== 401) throw error;
              return await request(graph(await accessToken(true)));
            }
          }),
        (error) => judgeGraphError(error, operation),
      );
    }

    const ref = (event: GraphEvent): ExternalEventRef => ({ externalId: event.id, version: event.changeKey });

    return {
      async listCalendars(): Promise<ExternalCalendar[]> {
        const calendars: ExternalCalendar[] = [];
        let next: string | undefined = '/me/calendars?$top=50&$select=id,name,isDefaultCalendar,canEdit';
        while (next) {
          const path: string = next;
          const page = await call(
            'read',
            (c) => c.api(path).get() as Promise<{ value: GraphCalendar[]; '@odata.nextLink'?: string }>,
          );
          for (const cal of page.value) {
            calendars.push({
              id: cal.id,
              name: cal.name,
              primary: cal.isDefaultCalendar === true,
              canEdit: cal.canEdit !== false,
            });
          }
          next = page['@odata.nextLink'];
        }
        return calendars;
      },
      async createEvent(calendarId: string, body: ExternalEventBody, idempotencyKey: string) {
        const payload = { ...graphEventBody(body), transactionId: idempotencyKey };
        const made = await call('create', (c) =>
          c.api(`/me/calendars/${encodeURIComponent(calendarId)}/events`).post(payload),
        );
        return ref(made as GraphEvent);
      },
      async updateEvent(_calendarId: string, externalId: string, body: ExternalEventBody) {
        const changed = await call('update', (c) =>
          c.api(`/me/events/${encodeURIComponent(externalId)}`).patch(graphEventBody(body)),
        );
        return ref(changed as GraphEvent);
      },
      async deleteEvent(_calendarId: string, externalId: string) {
        try {
          await call('delete', (c) => c.api(`/me/events/${encodeURIComponent(externalId)}`).delete());
          return 'deleted';
        } catch (error) {
          if (error instanceof ProviderFailure && error.code === 'not_found') return 'already_gone';
          throw error;
        }
      },
    };
  }

  return { id: 'microsoft', authorizer, client };
}

interface GraphCalendar {
  id: string;
  name: string;
  isDefaultCalendar?: boolean;
  canEdit?: boolean;
}
