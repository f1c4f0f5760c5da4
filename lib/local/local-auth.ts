import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { jwtVerify } from 'jose';
import { type Caller, callerFromClaims, GROUPS_CLAIM, ORG_CLAIM } from '../../functions/api/auth.ts';
import { ROLE_TITLES, ROLES, type Role } from '../../functions/api/auth-roles.ts';

/**
 * A demo user's token subject: stable per user and opaque, as Cognito's `sub` (a UUID) is. Never the e-mail address
 * itself: subjects travel where personal data must not (integration events, logs).
 */
export function localSubject(email: string): string {
  return `local-${createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 24)}`;
}

/**
 * The twin's stand-in for Cognito and API Gateway's JWT authorizer: it issues HS256 tokens carrying the claims the
 * user pool issues (`custom:org`, `sub`, `email`, `name`, the role as `cognito:groups`), and verifies them before a
 * request reaches the API app, which reads them exactly as it reads Cognito's (`callerFromClaims`). Local only: the
 * secret lives under .local/ and the tokens are printed into stack.json for the developer.
 *
 * Verification is jose's (a compact JWS of exactly three parts, the algorithm pinned to HS256, signature, issuer and
 * expiry checked), not hand-written parsing. Issuing stays synchronous: it signs only what this file builds.
 */
function b64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

export { ORG_CLAIM };

/** A user of the local stack: who a token is for. */
export interface LocalUser {
  org: string;
  email: string;
  name: string;
  /** Omitted: a user in no role group (every request of theirs is refused with 403 no_role). */
  role?: Role;
}

export interface LocalIssuer {
  /** A firm admin's token for the organization, for tests: user `local-admin@<org>` (its `sub`; no e-mail). */
  issue(org: string, ttlSeconds?: number): string;
  /** A token for this user (their role as the user pool group they belong to). */
  issueFor(user: LocalUser, ttlSeconds?: number): string;
  /** The token's claims when it is a valid JWT of this issuer (signature, algorithm, expiry), else undefined. */
  verify(token: string): Promise<Record<string, unknown> | undefined>;
}

const DEFAULT_TTL = 30 * 24 * 3600;

/** One user per role in each organization of the twin: `admin@<org>.example.com` and so on. */
export function demoUsers(org: string): LocalUser[] {
  const local: Record<Role, string> = { firm_admin: 'admin', case_manager: 'manager', viewer: 'viewer' };
  return ROLES.map((role) => ({
    org,
    email: `${local[role]}@${org}.example.com`,
    name: `${org} ${ROLE_TITLES[role]}`,
    role,
  }));
}

export function localIssuer(secret: string, issuer = 'integrator-local'): LocalIssuer {
  const key = new TextEncoder().encode(secret);
  const sign = (claims: Record<string, unknown>, ttlSeconds: number) => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = b64url(
      JSON.stringify({ iss: issuer, ...claims, token_use: 'id', iat: now, exp: now + ttlSeconds }),
    );
    const signature = b64url(createHmac('sha256', key).update(`${header}.${payload}`).digest());
    return `${header}.${payload}.${signature}`;
  };
  return {
    issueFor: (user, ttlSeconds = DEFAULT_TTL) =>
      sign(
        {
          sub: localSubject(user.email),
          email: user.email,
          name: user.name,
          [ORG_CLAIM]: user.org,
          ...(user.role ? { [GROUPS_CLAIM]: [user.role] } : {}),
        },
        ttlSeconds,
      ),
    issue: (org, ttlSeconds = DEFAULT_TTL) =>
      sign({ sub: `local-admin@${org}`, [ORG_CLAIM]: org, [GROUPS_CLAIM]: ['firm_admin'] }, ttlSeconds),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer,
          requiredClaims: ['exp', 'sub', ORG_CLAIM],
        });
        return payload as Record<string, unknown>;
      } catch {
        return undefined;
      }
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^bearer +([^\s]+) *$/i.exec(header ?? '');
  return match?.[1];
}

/** The API app's `authenticate` for local tokens: the caller, or undefined (401). */
export function localAuthenticate(issuer: LocalIssuer): (c: Context) => Promise<Caller | undefined> {
  return async (c) => {
    const token = bearerToken(c.req.header('authorization'));
    return token ? callerFromClaims(await issuer.verify(token)) : undefined;
  };
}

/**
 * The operator route's guard on the twin (IAM's SigV4 in AWS): the operator credential of .local/stack.json as a
 * bearer token, compared in constant time. An organization's token is not it, whatever its claims.
 */
export function localOperatorAuthenticate(operatorToken: string): (c: Context) => string | undefined {
  const want = createHash('sha256').update(operatorToken).digest();
  return (c) => {
    const token = bearerToken(c.req.header('authorization'));
    if (!token) return undefined;
    return timingSafeEqual(createHash('sha256').update(token).digest(), want) ? 'local-operator' : undefined;
  };
}
