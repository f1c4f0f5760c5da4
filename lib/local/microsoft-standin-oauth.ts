/**
 * The Microsoft identity platform's v2.0 endpoints, as far as Integrator uses them
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow):
 * - GET  /{tenant}/oauth2/v2.0/authorize: the sign-in. The stand-in has no password page: it shows the tenant's
 *   users as links, and `standin_user=<e-mail>` in the query signs that user in at once (what tests use; see
 *   `signIn` on the stand-in). Redirects to redirect_uri with `code` and `state`.
 * - POST /{tenant}/oauth2/v2.0/token: `authorization_code` (PKCE S256 verified: AADSTS50148 on a mismatch) and
 *   `refresh_token`; a revoked or expired grant answers invalid_grant AADSTS700082; a tenant whose administrator
 *   has not consented answers invalid_grant AADSTS65001 with suberror consent_required. Success carries
 *   access_token, token_type, expires_in, scope, refresh_token (with offline_access), an id_token (oid, sub, tid,
 *   preferred_username, name, aud, iss) and client_info, which MSAL needs for its account.
 * - GET  /{tenant}/adminconsent and /{tenant}/v2.0/adminconsent: the administrator's consent for the tenant.
 * - GET  /{tenant}/v2.0/.well-known/openid-configuration and /{tenant}/discovery/v2.0/keys.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { MicrosoftStore, MsUser } from './microsoft-standin-store.ts';
import { type Answer, base64url, type StandinRequestContext } from './standin-http.ts';

export interface MsClientApp {
  clientId: string;
  /** Required at the token endpoint when set (a confidential client, as Integrator's backend is). */
  clientSecret?: string;
  /** Accepted redirect URIs; any when absent. */
  redirectUris?: string[];
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge?: string;
  nonce?: string;
  oid: string;
  expiresAt: number;
  used: boolean;
}

export interface MsGrant {
  id: string;
  oid: string;
  clientId: string;
  scopes: string[];
  revoked: boolean;
}

export interface MsAccessToken {
  oid: string;
  clientId: string;
  scopes: string[];
  grantId: string;
  expiresAt: number;
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const TENANT_ALIASES = new Set(['common', 'organizations', 'consumers']);

function aadError(status: number, error: string, code: number, description: string, suberror?: string): Answer {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
      ...(suberror ? { suberror } : {}),
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class MicrosoftOAuth {
  readonly #codes = new Map<string, AuthCode>();
  readonly #refreshTokens = new Map<string, string>();
  readonly grants = new Map<string, MsGrant>();
  readonly accessTokens = new Map<string, MsAccessToken>();
  #signingKey?: { privateKey: SigningKey; jwk: JWK };

  constructor(
    readonly store: MicrosoftStore,
    readonly origin: string,
    readonly clients: MsClientApp[],
    readonly accessTokenSeconds: number,
    readonly now: () => number,
  ) {}

  async init(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'standin-1', use: 'sig', alg: 'ES256' };
    this.#signingKey = { privateKey, jwk };
  }

  /** The metadata MSAL takes as `authorityMetadata` so that it makes no discovery call. */
  metadata(tenant: string): Record<string, unknown> {
    const base = `${this.origin}/${tenant}`;
    return {
      issuer: `${this.origin}/{tenantid}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_types_supported: ['code'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['ES256'],
      token_endpoint_auth_methods_supported: ['client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      tenant_region_scope: 'NA',
      cloud_instance_name: '127.0.0.1',
    };
  }

  /** Routes under /{tenant}/...; undefined when the path is not an OAuth one. */
  async route(ctx: StandinRequestContext): Promise<Answer | undefined> {
    const m =
      /^\/([^/]+)\/(oauth2\/v2\.0\/authorize|oauth2\/v2\.0\/token|adminconsent|v2\.0\/adminconsent|v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys)$/.exec(
        ctx.url.pathname,
      );
    if (!m) return undefined;
    const tenant = decodeURIComponent(m[1]!);
    switch (m[2]) {
      case 'oauth2/v2.0/authorize':
        return this.#authorize(tenant, ctx);
      case 'oauth2/v2.0/token':
        return ctx.method === 'POST' ? this.#token(ctx) : { status: 405, body: 'POST only' };
      case 'adminconsent':
      case 'v2.0/adminconsent':
        return this.#adminConsent(tenant, ctx);
      case 'v2.0/.well-known/openid-configuration':
        return { status: 200, body: this.metadata(tenant) };
      default:
        return { status: 200, body: { keys: [this.#signingKey!.jwk] } };
    }
  }

  #client(clientId: string | null): MsClientApp | undefined {
    return this.clients.find((c) => c.clientId === clientId);
  }

  #usersOf(tenant: string): MsUser[] {
    const all = [...this.store.users.values()];
    return TENANT_ALIASES.has(tenant) ? all : all.filter((u) => u.tenantId === tenant);
  }

  /** The sign-in page (links per user), or the chosen user when `standin_user` names one of the tenant's. */
  #pickUser(tenant: string, ctx: StandinRequestContext): MsUser | Answer {
    const chosen = ctx.url.searchParams.get('standin_user');
    const users = this.#usersOf(tenant);
    if (chosen) {
      const user = users.find((u) => u.email.toLowerCase() === chosen.toLowerCase());
      if (user) return user;
      return aadError(400, 'invalid_request', 50034, `The user account ${chosen} does not exist in the directory.`);
    }
    const hint = ctx.url.searchParams.get('login_hint');
    const links = users
      .map((u) => {
        const url = new URL(ctx.url);
        url.searchParams.set('standin_user', u.email);
        const mark = hint && hint.toLowerCase() === u.email.toLowerCase() ? ' (login hint)' : '';
        return `<li><a href="${escapeHtml(url.pathname + url.search)}">${escapeHtml(u.name)} &lt;${escapeHtml(u.email)}&gt;</a>${mark}</li>`;
      })
      .join('');
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<!doctype html><title>Microsoft stand-in: sign in</title><h1>Sign in (Microsoft stand-in)</h1><p>Pick an account:</p><ul>${links}</ul>`,
    };
  }

  #authorize(tenant: string, ctx: StandinRequestContext): Answer {
    const q = ctx.url.searchParams;
    const client = this.#client(q.get('client_id'));
    if (!client)
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${q.get('client_id')}' was not found in the directory.`,
      );
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!redirectUri || (client.redirectUris && !client.redirectUris.includes(redirectUri))) {
      return aadError(
        400,
        'invalid_request',
        50011,
        `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application.`,
      );
    }
    if (q.get('response_type') !== 'code')
      return aadError(400, 'unsupported_response_type', 70005, 'The response_type must be code.');
    const challenge = q.get('code_challenge') ?? undefined;
    if (challenge && (q.get('code_challenge_method') ?? 'plain') !== 'S256') {
      return aadError(400, 'invalid_request', 50149, 'The stand-in accepts only code_challenge_method S256.');
    }
    const picked = this.#pickUser(tenant, ctx);
    if (!('oid' in picked)) return picked;
    const code = base64url(randomBytes(32));
    this.#codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      scopes: (q.get('scope') ?? '').split(/\s+/).filter(Boolean),
      codeChallenge: challenge,
      nonce: q.get('nonce') ?? undefined,
      oid: picked.oid,
      expiresAt: this.now() + 10 * 60_000,
      used: false,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    target.searchParams.set('session_state', randomUUID());
    return { status: 302, headers: { location: target.toString() } };
  }

  #adminConsent(tenant: string, ctx: StandinRequestContext): Answer {
    const q = ctx.url.searchParams;
    const client = this.#client(q.get('client_id'));
    if (!client)
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${q.get('client_id')}' was not found in the directory.`,
      );
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!redirectUri)
      return aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'redirect_uri'.",
      );
    const picked = this.#pickUser(tenant, ctx);
    if (!('oid' in picked)) return picked;
    this.store.consent(picked.tenantId, client.clientId);
    const target = new URL(redirectUri);
    target.searchParams.set('admin_consent', 'True');
    target.searchParams.set('tenant', picked.tenantId);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    const scope = q.get('scope');
    if (scope) target.searchParams.set('scope', scope);
    return { status: 302, headers: { location: target.toString() } };
  }

  async #token(ctx: StandinRequestContext): Promise<Answer> {
    const f = ctx.form;
    const client = this.#client(f.get('client_id'));
    if (!client)
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${f.get('client_id')}' was not found in the directory.`,
      );
    if (client.clientSecret !== undefined && f.get('client_secret') !== client.clientSecret) {
      return aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    }
    const grantType = f.get('grant_type');
    if (grantType === 'authorization_code') return this.#redeemCode(client, f);
    if (grantType === 'refresh_token') return this.#refresh(client, f);
    return aadError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  }

  async #redeemCode(client: MsClientApp, f: URLSearchParams): Promise<Answer> {
    const code = this.#codes.get(f.get('code') ?? '');
    if (!code || code.clientId !== client.clientId) {
      return aadError(400, 'invalid_grant', 70000, 'The provided authorization code is invalid or malformed.');
    }
    if (code.used) return aadError(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed.');
    if (code.expiresAt < this.now())
      return aadError(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired.');
    if (f.get('redirect_uri') !== code.redirectUri) {
      return aadError(
        400,
        'invalid_grant',
        500112,
        'The reply address does not match the reply address used in the authorization request.',
      );
    }
    if (code.codeChallenge) {
      const verifier = f.get('code_verifier') ?? '';
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (!verifier || computed !== code.codeChallenge) {
        return aadError(
          400,
          'invalid_grant',
          50148,
          'The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.',
        );
      }
    }
    code.used = true;
    const user = this.store.users.get(code.oid)!;
    if (!this.store.hasConsent(user.tenantId, client.clientId)) return consentRequired(client.clientId);
    const grant: MsGrant = {
      id: randomUUID(),
      oid: user.oid,
      clientId: client.clientId,
      scopes: code.scopes,
      revoked: false,
    };
    this.grants.set(grant.id, grant);
    return this.#issue(grant, code.scopes, code.nonce);
  }

  async #refresh(client: MsClientApp, f: URLSearchParams): Promise<Answer> {
    const grantId = this.#refreshTokens.get(f.get('refresh_token') ?? '');
    const grant = grantId ? this.grants.get(grantId) : undefined;
    if (!grant || grant.clientId !== client.clientId) {
      return aadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    }
    if (grant.revoked) {
      return aadError(
        400,
        'invalid_grant',
        700082,
        'The refresh token has expired due to inactivity. The token was issued on a date and was inactive for a while.',
      );
    }
    const user = this.store.users.get(grant.oid)!;
    if (!this.store.hasConsent(user.tenantId, client.clientId)) return consentRequired(client.clientId);
    const asked = (f.get('scope') ?? '').split(/\s+/).filter(Boolean);
    return this.#issue(grant, asked.length ? asked : grant.scopes);
  }

  async #issue(grant: MsGrant, scopes: string[], nonce?: string): Promise<Answer> {
    const user = this.store.users.get(grant.oid)!;
    const accessToken = `ms-at.${base64url(randomBytes(24))}`;
    const apiScopes = scopes.filter((s) => !['openid', 'profile', 'email', 'offline_access'].includes(s));
    this.accessTokens.set(accessToken, {
      oid: user.oid,
      clientId: grant.clientId,
      scopes: apiScopes,
      grantId: grant.id,
      expiresAt: this.now() + this.accessTokenSeconds * 1000,
    });
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: scopes.filter((s) => s !== 'offline_access').join(' '),
      expires_in: this.accessTokenSeconds,
      ext_expires_in: this.accessTokenSeconds,
      access_token: accessToken,
      client_info: base64url(JSON.stringify({ uid: user.oid, utid: user.tenantId })),
    };
    if (scopes.includes('offline_access')) {
      const refreshToken = `ms-rt.${base64url(randomBytes(32))}`;
      this.#refreshTokens.set(refreshToken, grant.id);
      body.refresh_token = refreshToken;
    }
    if (scopes.includes('openid')) body.id_token = await this.#idToken(user, grant.clientId, nonce);
    return { status: 200, body, headers: { 'cache-control': 'no-store' } };
  }

  async #idToken(user: MsUser, clientId: string, nonce?: string): Promise<string> {
    const seconds = Math.floor(this.now() / 1000);
    return new SignJWT({
      oid: user.oid,
      tid: user.tenantId,
      preferred_username: user.email,
      email: user.email,
      name: user.name,
      ver: '2.0',
      ...(nonce ? { nonce } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'standin-1', typ: 'JWT' })
      .setIssuer(`${this.origin}/${user.tenantId}/v2.0`)
      .setSubject(user.oid)
      .setAudience(clientId)
      .setIssuedAt(seconds)
      .setNotBefore(seconds)
      .setExpirationTime(seconds + 3600)
      .sign(this.#signingKey!.privateKey);
  }

  /** Revokes every grant of the user (as a password reset or an admin's revocation would) and its access tokens. */
  revokeUser(oid: string): void {
    for (const grant of this.grants.values()) if (grant.oid === oid) grant.revoked = true;
    for (const [token, at] of this.accessTokens) if (at.oid === oid) this.accessTokens.delete(token);
  }

  /** Makes every access token expired (the next Graph call answers 401 and MSAL must refresh). */
  expireAccessTokens(): void {
    for (const at of this.accessTokens.values()) at.expiresAt = 0;
  }
}

function consentRequired(clientId: string): Answer {
  return aadError(
    400,
    'invalid_grant',
    65001,
    `The user or administrator has not consented to use the application with ID '${clientId}'. Send an interactive authorization request for this user and resource.`,
    'consent_required',
  );
}
