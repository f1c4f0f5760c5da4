/**
 * Who is calling: the caller's organization, user and role, read from the claims of a token that was verified
 * before (in AWS by API Gateway's JWT authorizer against the Cognito user pool; locally by lib/local/local-auth.ts).
 * The claims are the user pool's in both places, so this one reader serves both:
 *
 *   custom:org       the user's organization (a custom attribute only an administrator can set)
 *   sub              the user's stable id; email, name when the pool has them (comments, acknowledgements)
 *   cognito:groups   the user's role: membership of the user pool group `firm_admin`, `case_manager` or `viewer`
 *                    (functions/api/auth-roles.ts). API Gateway hands array claims over as one string, `[a b]`.
 *
 * The `authentication` middleware answers 401 when there is no caller; it does not judge the role (that is the
 * role guard's concern, one middleware per concern).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { type Role, roleFromGroups } from './auth-roles.ts';
import { apiError } from './errors.ts';

/** The organization claim the user pool puts in every ID token (the custom attribute `org`). */
export const ORG_CLAIM = 'custom:org';
/** The claim naming the user pool groups the user belongs to. */
export const GROUPS_CLAIM = 'cognito:groups';

export interface Caller {
  org: string;
  /** The user's stable id (`sub`). */
  subject: string;
  /** The strongest role among the user's groups; undefined when the user is in none (every request is refused). */
  role: Role | undefined;
  email?: string;
  name?: string;
}

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by `authentication` on every /v1 request. */
    caller: Caller;
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * A group claim as a list: a JSON array (a token's own payload) or API Gateway's rendering of one, `[a b c]` (HTTP
 * API payload 2.0 turns every claim into a string). Group names of this API never hold spaces or brackets.
 */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string');
  if (typeof claim !== 'string') return [];
  const inner = claim.trim().replace(/^\[(.*)\]$/s, '$1');
  return inner.split(/[\s,]+/).filter((g) => g !== '');
}

/** The caller a verified token's claims describe, or undefined when they name no organization or no user. */
export function callerFromClaims(claims: Record<string, unknown> | undefined): Caller | undefined {
  const org = text(claims?.[ORG_CLAIM]);
  const subject = text(claims?.sub);
  if (!claims || !org || !subject) return undefined;
  const email = text(claims.email);
  const name = text(claims.name);
  return {
    org,
    subject,
    role: roleFromGroups(groupsOf(claims[GROUPS_CLAIM])),
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
  };
}

export type Authenticate = (c: Context) => Promise<Caller | undefined> | Caller | undefined;

/** Who a person reading a comment or an acknowledgement sees: the e-mail address when the token has one. */
export function userOf(caller: Caller): string {
  return caller.email ?? caller.subject;
}

/**
 * 401 unless `authenticate` finds a caller; otherwise sets `caller`, `org` (the caller's organization) and `user`
 * (`userOf(caller)`, who comments and acknowledges) for what follows.
 */
export function authentication(
  authenticate: Authenticate,
): MiddlewareHandler<{ Variables: { org: string; user: string } }> {
  return async (c, next) => {
    const caller = await authenticate(c);
    if (!caller) return apiError(c, 401, 'unauthorized', 'a valid bearer token is required');
    c.set('caller', caller);
    c.set('org', caller.org);
    c.set('user', userOf(caller));
    await next();
  };
}
