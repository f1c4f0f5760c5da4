/**
 * Where an organization's files live in the bucket, and how its SFTP user sees them.
 *
 * Each organization owns one prefix under each top-level area. The SFTP user's logical home shows exactly three
 * folders and nothing above them; the same mapping is given to AWS Transfer Family (HomeDirectoryMappings) and to
 * the local SFTP server, so isolation is defined once.
 *
 * The areas are top-level (inbound/<org>/ rather than <org>/inbound/) so one S3 notification filter (prefix
 * `inbound/`) sends the import handler uploads and nothing else: archives and outcome files never trigger it.
 */
export const AREAS = ['inbound', 'archive', 'outbound'] as const;
export type Area = (typeof AREAS)[number];

export interface AreaAccess {
  /** Download files. Listing is always allowed: each folder shows what it holds. */
  read: boolean;
  /** Create, overwrite or truncate files, make sub-folders. */
  write: boolean;
  /** Remove files or (empty) sub-folders; a rename needs it on the source. */
  delete: boolean;
}

/**
 * What an organization's SFTP user may do in each of its folders: defined here once, granted by the IAM role of the
 * Transfer Family user (lib/aws/sftp.ts) and enforced by the local SFTP server (lib/local/sftp/session.ts).
 *
 * - inbound: customers drop their files here; until the import picks a file up they may replace or remove it.
 * - outbound: exports we write; the customer's system fetches them and may delete what it has taken. It never
 *   uploads here, so nothing it puts in outbound can be mistaken for one of our exports.
 * - archive: processed originals and their `.errors.csv` outcome files, our record of what was imported. The
 *   customer reads them; nothing there can be changed or lost through SFTP.
 *
 * The key order is also the order of the role's policy statements.
 */
export const AREA_ACCESS: Readonly<Record<Area, Readonly<AreaAccess>>> = {
  inbound: { read: true, write: true, delete: true },
  outbound: { read: true, write: false, delete: true },
  archive: { read: true, write: false, delete: false },
};

const ORG_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

export function isValidOrgId(org: string): boolean {
  return ORG_ID.test(org);
}

export function assertOrgId(org: string): string {
  if (!isValidOrgId(org)) {
    throw new Error(`invalid organization id "${org}": use 2-63 lower-case letters, digits and dashes`);
  }
  return org;
}

export function areaPrefix(area: Area, org: string): string {
  return `${area}/${assertOrgId(org)}/`;
}

export interface LogicalDirectory {
  area: Area;
  /** What the SFTP user sees, e.g. `/inbound`. */
  entry: string;
  /** Where it lives in the bucket, without the bucket: `inbound/acme`. */
  target: string;
}

/** The SFTP user's view: `/inbound`, `/archive`, `/outbound`, each mapped to the organization's own prefix. */
export function logicalDirectories(org: string): LogicalDirectory[] {
  return AREAS.map((area) => ({ area, entry: `/${area}`, target: areaPrefix(area, org).slice(0, -1) }));
}

export interface ParsedKey {
  area: Area;
  org: string;
  /** Path below the organization's prefix, e.g. `fn_profile_import_20261124.csv` or `sub/x.csv`. */
  path: string;
}

/** Splits an object key into area, organization and path; undefined for keys outside the layout. */
export function parseObjectKey(key: string): ParsedKey | undefined {
  const [area, org, ...rest] = key.split('/');
  if (!area || !org || rest.length === 0) return undefined;
  if (!(AREAS as readonly string[]).includes(area) || !isValidOrgId(org)) return undefined;
  const path = rest.join('/');
  if (path === '' || path.endsWith('/')) return undefined;
  return { area: area as Area, org, path };
}

/** Names clients use while an upload is still in progress; such objects are never imported. */
const TEMPORARY_NAME = /(\.filepart|\.part|\.partial|\.tmp|\.temp|\.crdownload|~)$|^\.|\/\./i;

export function isTemporaryName(path: string): boolean {
  return TEMPORARY_NAME.test(path);
}

/** Archive key for a processed original: dated folder, prefixed by run id so a fixed daily name never collides. */
export function archiveKey(org: string, runId: string, fileName: string, at: Date): string {
  const day = at.toISOString().slice(0, 10);
  return `${areaPrefix('archive', org)}${day}/${runId}_${baseName(fileName)}`;
}

/** The customer's outcome file (failed rows with their errors), stored next to the archived original. */
export function outcomeKey(archivedKey: string): string {
  return archivedKey.replace(/\.csv$/i, '') + '.errors.csv';
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * The path an organization's SFTP user sees for one of its objects (`archive/acme/2026-11-24/x.csv` ->
 * `/archive/2026-11-24/x.csv`): runs name both, the bucket key for operators and this path for the customer.
 * Undefined for keys outside the organization's areas.
 */
export function sftpPathOf(org: string, key: string): string | undefined {
  const parsed = parseObjectKey(key);
  if (!parsed || parsed.org !== org) return undefined;
  return `/${parsed.area}/${parsed.path}`;
}
