import { createHmac } from 'node:crypto';
import type { Context } from 'hono';
import { jwtVerify } from 'jose';

/**
 * The twin's stand-in for Cognito and API Gateway's JWT authorizer: it issues HS256 tokens carrying the same
 * `custom:org` claim the user pool issues, and verifies them before a request reaches the API app. Local only: the
 * secret lives under .local/ and the tokens are printed into stack.json for the developer.
 *
 * Verification is jose's (a compact JWS of exactly three parts, the algorithm pinned to HS256, signature, issuer and
 * expiry checked), not hand-written parsing. Issuing stays synchronous: it signs only what this file builds.
 */
function b64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

export const ORG_CLAIM = 'custom:org';

export interface LocalIssuer {
  issue(org: string, ttlSeconds?: number): string;
  /** The token's claims when it is a valid JWT of this issuer (signature, algorithm, expiry), else undefined. */
  verify(token: string): Promise<Record<string, unknown> | undefined>;
}

export function localIssuer(secret: string, issuer = 'integrator-local'): LocalIssuer {
  const key = new TextEncoder().encode(secret);
  return {
    issue(org, ttlSeconds = 30 * 24 * 3600) {
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
      const payload = b64url(
        JSON.stringify({ iss: issuer, sub: `local-admin@${org}`, [ORG_CLAIM]: org, iat: now, exp: now + ttlSeconds }),
      );
      const signature = b64url(createHmac('sha256', key).update(`${header}.${payload}`).digest());
      return `${header}.${payload}.${signature}`;
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer,
          requiredClaims: ['exp', ORG_CLAIM],
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

/** The API app's `authenticate` for local tokens: the caller's organization and user (`sub`), or undefined (401). */
export function localAuthenticate(
  issuer: LocalIssuer,
): (c: Context) => Promise<{ org: string; user?: string } | undefined> {
  return async (c) => {
    const token = bearerToken(c.req.header('authorization'));
    const claims = token ? await issuer.verify(token) : undefined;
    const org = claims?.[ORG_CLAIM];
    if (typeof org !== 'string' || org === '') return undefined;
    return typeof claims?.sub === 'string' && claims.sub !== '' ? { org, user: claims.sub } : { org };
  };
}
