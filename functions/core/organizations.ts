/**
 * Organizations as data: the rules of an organization's item (Organizations table), checked in one place for the
 * operator's route (functions/api/organizations-routes.ts), the bootstrap file of the CDK context (`npm run org --
 * sync`) and the twin.
 *
 *   id              2-63 of a-z 0-9 - (it names the organization's prefixes and its SFTP user `org-<id>`); fixed
 *   name            1-200 characters
 *   allowedRecords  records it may import per billing period (UTC month), a whole number >= 0
 *   contacts        integration contacts (e-mail addresses) told of failed, overdue and missed runs; at most 20
 *   timeZone        an IANA time zone (`Europe/Berlin`), the default of its schedules and of its reports' dates
 *   status          active | suspended (no SFTP login, no import, no export; nothing is lost) | deleting (an erase
 *                   under way, resumable: `ERASE_STEPS`)
 *   sshKeys         its SFTP user's public keys by fingerprint (functions/core/ssh-keys.ts), at most 50
 *
 * Pure: the clock's time comes in as an argument.
 */
import type { Problem } from './problems.ts';
import { MAX_SSH_KEYS_PER_USER, parseSshPublicKey } from './ssh-keys.ts';
import { isValidOrgId } from './transfer/layout.ts';

export type OrganizationStatus = 'active' | 'suspended' | 'deleting';

/** One public key of the organization's SFTP user. */
export interface StoredSshKey {
  /** The key's SHA-256 fingerprint, `SHA256:…`: its id. */
  fingerprint: string;
  /** The OpenSSH line as validated (type, base64, comment). */
  body: string;
  type: string;
  bits: number;
  addedAt: string;
  /** Transfer Family's SshPublicKeyId while the key is imported there (AWS only; absent while suspended). */
  providerKeyId?: string;
}

export interface Organization {
  id: string;
  name: string;
  allowedRecords: number;
  contacts: string[];
  timeZone: string;
  status: OrganizationStatus;
  createdAt: string;
  updatedAt: string;
  sshKeys: StoredSshKey[];
}

/** What the operator may change on an existing organization (not its id, status or keys). */
export interface OrganizationChange {
  name?: string;
  allowedRecords?: number;
  contacts?: string[];
  timeZone?: string;
}

/** A new organization as the operator describes it; keys are its SFTP user's first keys. */
export interface NewOrganization extends Required<OrganizationChange> {
  id: string;
  sshPublicKeys: string[];
}

export const DEFAULT_ALLOWED_RECORDS = 100_000;
export const DEFAULT_TIME_ZONE = 'UTC';
export const MAX_CONTACTS = 20;
const MAX_NAME = 200;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The SFTP user name of an organization: Transfer Family user names allow 3-100 of [\w@.-]. */
export function sftpUserName(org: string): string {
  return `org-${org}`;
}

/** The organization an SFTP user name belongs to, or undefined for a name that is not `org-<id>`. */
export function orgOfSftpUser(username: string): string | undefined {
  const org = username.startsWith('org-') ? username.slice(4) : '';
  return isValidOrgId(org) ? org : undefined;
}

/** An IANA zone name the runtime knows (`Intl` carries the tz database; `UTC` included). */
export function isTimeZone(value: unknown): value is string {
  if (typeof value !== 'string' || value === '' || !/^[A-Za-z0-9_+\-/]+$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

function checkFields(o: Record<string, unknown>, problems: Problem[], where: string): OrganizationChange {
  const change: OrganizationChange = {};
  const bad = (field: string, message: string, rule: string, value?: unknown) =>
    problems.push({
      code: 'invalid_organization',
      message: `${where}${field}: ${message}`,
      field,
      rule,
      ...(value !== undefined ? { value: String(value).slice(0, 100) } : {}),
    });
  if (o.name !== undefined) {
    if (typeof o.name !== 'string' || o.name.trim() === '' || o.name.trim().length > MAX_NAME) {
      bad('name', `expected a name of 1-${MAX_NAME} characters`, `1-${MAX_NAME} characters`, o.name);
    } else change.name = o.name.trim();
  }
  if (o.allowedRecords !== undefined) {
    const n = o.allowedRecords;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      bad('allowedRecords', `expected a whole number >= 0, got ${String(n)}`, 'whole number >= 0', n);
    } else change.allowedRecords = n;
  }
  if (o.contacts !== undefined) {
    const c = o.contacts;
    if (!Array.isArray(c) || c.length > MAX_CONTACTS) {
      bad('contacts', `expected a list of at most ${MAX_CONTACTS} e-mail addresses`, `at most ${MAX_CONTACTS}`);
    } else {
      const wrong = c.find((x) => typeof x !== 'string' || !EMAIL.test(x));
      if (wrong !== undefined) {
        bad(
          'contacts',
          `"${String(wrong)}" is not an e-mail address such as "it@example.com"`,
          'e-mail address',
          wrong,
        );
      } else change.contacts = [...new Set(c as string[])];
    }
  }
  if (o.timeZone !== undefined) {
    if (!isTimeZone(o.timeZone)) {
      bad(
        'timeZone',
        `"${String(o.timeZone)}" is not an IANA time zone such as "Europe/Berlin"`,
        'IANA time zone',
        o.timeZone,
      );
    } else change.timeZone = o.timeZone;
  }
  return change;
}

const CHANGEABLE = new Set(['name', 'allowedRecords', 'contacts', 'timeZone']);

/** A change the operator asks for: only the changeable fields, each valid; at least one. */
export function checkOrganizationChange(input: unknown): Checked<OrganizationChange> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: [{ code: 'invalid_organization', message: 'the body must be a JSON object' }] };
  }
  const o = input as Record<string, unknown>;
  const problems: Problem[] = [];
  for (const field of Object.keys(o)) {
    if (!CHANGEABLE.has(field)) {
      problems.push({
        code: 'invalid_organization',
        message: `${field}: cannot be changed here (changeable: ${[...CHANGEABLE].join(', ')}; status through suspend/resume, keys through sftp-keys)`,
        field,
      });
    }
  }
  const change = checkFields(o, problems, '');
  if (problems.length === 0 && Object.keys(change).length === 0) {
    problems.push({ code: 'invalid_organization', message: `nothing to change: give ${[...CHANGEABLE].join(', ')}` });
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: change };
}

/** A new organization: a valid id, the fields above (defaults for the missing ones) and valid keys. */
export function checkNewOrganization(input: unknown, where = ''): Checked<NewOrganization> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: [{ code: 'invalid_organization', message: `${where}expected a JSON object` }] };
  }
  const o = input as Record<string, unknown>;
  const problems: Problem[] = [];
  if (typeof o.id !== 'string' || !isValidOrgId(o.id)) {
    problems.push({
      code: 'invalid_organization',
      message: `${where}id: "${String(o.id)}" is not a valid organization id (2-63 of a-z, 0-9, -; starting with a letter or digit)`,
      field: 'id',
      rule: '2-63 of a-z 0-9 -',
    });
  }
  const change = checkFields(o, problems, where);
  const keys = o.sshPublicKeys ?? [];
  const bodies: string[] = [];
  if (!Array.isArray(keys) || keys.length > MAX_SSH_KEYS_PER_USER) {
    problems.push({
      code: 'invalid_organization',
      message: `${where}sshPublicKeys: expected a list of at most ${MAX_SSH_KEYS_PER_USER} OpenSSH public keys`,
      field: 'sshPublicKeys',
    });
  } else {
    keys.forEach((k, i) => {
      const checked = parseSshPublicKey(k);
      if (!checked.ok) {
        problems.push({ ...checked.problem, message: `${where}sshPublicKeys[${i}]: ${checked.problem.message}` });
      } else bodies.push(checked.key.body);
    });
  }
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    value: {
      id: o.id as string,
      name: change.name ?? (o.id as string),
      allowedRecords: change.allowedRecords ?? DEFAULT_ALLOWED_RECORDS,
      contacts: change.contacts ?? [],
      timeZone: change.timeZone ?? DEFAULT_TIME_ZONE,
      sshPublicKeys: [...new Set(bodies)],
    },
  };
}

/** The stored keys of a new organization's first key lines (already checked by checkNewOrganization). */
export function storedKeys(bodies: readonly string[], at: Date): StoredSshKey[] {
  const out = new Map<string, StoredSshKey>();
  for (const body of bodies) {
    const checked = parseSshPublicKey(body);
    if (!checked.ok) continue;
    const { fingerprint, type, bits } = checked.key;
    out.set(fingerprint, { fingerprint, body: checked.key.body, type, bits, addedAt: at.toISOString() });
  }
  return [...out.values()];
}

/** The item of a new organization: active, its first keys stored. */
export function newOrganization(input: NewOrganization, at: Date): Organization {
  const { sshPublicKeys, ...fields } = input;
  return {
    ...fields,
    status: 'active',
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    sshKeys: storedKeys(sshPublicKeys, at),
  };
}

/**
 * The order in which a forced delete removes an organization, each step idempotent, the item last: a delete cut off
 * by a failure keeps the item (status `deleting`) and the same command resumes at the start, redoing only what is
 * left. The SFTP user goes first so nothing new arrives, the schedules next so no run starts, then the data.
 */
export const ERASE_STEPS = [
  'sftp_user',
  'schedules',
  'jobs',
  'runs',
  'run_errors',
  'files',
  'notifications',
  'records',
  'objects',
] as const;
export type EraseStep = (typeof ERASE_STEPS)[number];

/** The CDK context's bootstrap list (`-c organizations=<file>`): organizations `npm run org -- sync` creates. */
export interface OrganizationConfig {
  id: string;
  name: string;
  /** OpenSSH public keys (`ssh-ed25519 AAAA… comment`) allowed to log in as this organization's SFTP user. */
  sshPublicKeys: string[];
  /** Records the organization may import per billing period (the Billing report's "Allowed Limit"). */
  allowedRecords: number;
  /** Integration contacts (e-mail addresses) told of failed, overdue and missed runs of every job. */
  contacts?: string[];
  timeZone?: string;
}

/** A list of organizations (the bootstrap file), every entry by the rules of a new organization; ids unique. */
export function parseOrganizations(input: unknown, source: string): OrganizationConfig[] {
  if (!Array.isArray(input)) throw new Error(`${source}: expected a list of organizations`);
  const seen = new Set<string>();
  return input.map((raw, i) => {
    const checked = checkNewOrganization(raw, `${source}[${i}].`);
    if (!checked.ok) throw new Error(checked.problems.map((p) => p.message).join('; '));
    const o = checked.value;
    if (seen.has(o.id)) throw new Error(`${source}[${i}].id: organization "${o.id}" is listed twice`);
    seen.add(o.id);
    return {
      id: o.id,
      name: o.name,
      sshPublicKeys: o.sshPublicKeys,
      allowedRecords: o.allowedRecords,
      ...(o.contacts.length ? { contacts: o.contacts } : {}),
      ...((raw as { timeZone?: unknown }).timeZone !== undefined ? { timeZone: o.timeZone } : {}),
    };
  });
}
