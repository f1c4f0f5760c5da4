import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The twin's stand-in for Cognito and API Gateway's JWT authorizer: it issues HS256 tokens carrying the same
 * `custom:org` claim the user pool issues, and verifies them before a request reaches the API app. Local only: the
 * secret lives under .local/ and the tokens are printed into stack.json for the developer.
 */
function b64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

export interface LocalIssuer {
  issue(org: string, ttlSeconds?: number): string;
  /** The token's claims when its signature and expiry are valid, else undefined. */
  verify(token: string): Record<string, unknown> | undefined;
}

export function localIssuer(secret: string, issuer = 'integrator-local'): LocalIssuer {
  const sign = (data: string) => createHmac('sha256', secret).update(data).digest();
  return {
    issue(org, ttlSeconds = 30 * 24 * 3600) {
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
      const payload = b64url(
        JSON.stringify({ iss: issuer, sub: `local-admin@${org}`, 'custom:org': org, iat: now, exp: now + ttlSeconds }),
      );
      return `${header}.${payload}.${b64url(sign(`${header}.${payload}`))}`;
    },
    verify(token) {
      const [header, payload, signature] = token.split('.');
      if (!header || !payload || !signature) return undefined;
      const expected = sign(`${header}.${payload}`);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string };
        if (head.alg !== 'HS256') return undefined;
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
        if (claims.iss !== issuer) return undefined;
        if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return undefined;
        return claims;
      } catch {
        return undefined;
      }
    },
  };
}
