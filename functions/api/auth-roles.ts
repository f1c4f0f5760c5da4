/**
 * Roles and what they may do. A firm admin may do everything; a case manager and a viewer may only read. The rule is
 * by HTTP method, not by route: GET and HEAD read, every other method writes, so a route added later is guarded
 * without anyone listing it here. (POST /v1/mapping-suggestions stores nothing, but it is part of setting up a job,
 * which is a firm admin's work.)
 *
 * In AWS a role is a Cognito user pool group of the same name (lib/aws/api.ts creates them; the ID token names the
 * user's groups in `cognito:groups`). A group rather than a custom attribute: membership is managed by
 * administrators only (AdminAddUserToGroup; no app client can write it, whatever its attribute settings), Cognito
 * lists a group's members ("who are our firm admins?"), and the claim is in both ID and access tokens.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

/** Strongest first: a user in several groups has the strongest of their roles. */
export const ROLES = ['firm_admin', 'case_manager', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_TITLES: Record<Role, string> = {
  firm_admin: 'firm admin',
  case_manager: 'case manager',
  viewer: 'viewer',
};

const WRITES: Record<Role, boolean> = { firm_admin: true, case_manager: false, viewer: false };

/**
 * Self-service paths: a case manager connects, re-authenticates and disconnects their own calendar (the routes act
 * on the caller's own user only, calendar-routes.ts), so any role may write there.
 */
export const SELF_SERVICE_PREFIXES: readonly string[] = ['/v1/calendar/me'];

/** Methods that only read; every other method is a write. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The strongest role named among these groups, or undefined (groups that are no role are ignored). */
export function roleFromGroups(groups: readonly string[]): Role | undefined {
  return ROLES.find((role) => groups.includes(role));
}

export function mayWrite(role: Role): boolean {
  return WRITES[role];
}

/**
 * 403 for a caller with no role (any request), and for a read-only role's writes (any method but GET and HEAD).
 * Runs after `authentication`, before any route, so it holds for every route under the path it guards.
 */
export function roleGuard(): MiddlewareHandler {
  return async (c, next) => {
    const { role } = c.get('caller');
    if (!role) {
      throw new ApiError(403, 'no_role', 'your user has no role in this organization; a firm admin can give you one');
    }
    const selfService = SELF_SERVICE_PREFIXES.some((p) => c.req.path === p || c.req.path.startsWith(`${p}/`));
    if (!READ_METHODS.has(c.req.method) && !mayWrite(role) && !selfService) {
      throw new ApiError(403, 'read_only_role', `a ${ROLE_TITLES[role]} may only read; this needs a firm admin`);
    }
    await next();
  };
}
