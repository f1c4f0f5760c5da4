/**
 * The SFTP user's logical file system, as AWS Transfer Family builds it from HomeDirectoryMappings (logical home,
 * chroot): `/` holds exactly the organization's three folders and nothing above them is reachable.
 */
import { type Area, logicalDirectories } from '../../../functions/core/transfer/layout.ts';

/** S3 allows keys of up to 1024 bytes. */
const MAX_KEY_BYTES = 1024;

export type LogicalPath =
  /** `/` itself: read-only, lists the three folders. */
  | { kind: 'root'; path: string }
  /** Something directly under `/` that is not one of the folders (`/x`, `/x/y`): does not exist, cannot be written. */
  | { kind: 'outside'; path: string }
  /** One of the folders, e.g. `/inbound`: always exists, `prefix` is `inbound/<org>/`. */
  | { kind: 'folder'; path: string; area: Area; prefix: string }
  /** A path below a folder: an object `key`, or a directory if objects exist below `key + '/'`. */
  | { kind: 'entry'; path: string; area: Area; key: string };

/**
 * Normalizes an SFTP path like a chroot: relative paths resolve against `/`, `.` and empty segments vanish, and
 * `..` never climbs above `/`. The result is absolute, without a trailing slash.
 */
export function normalizePath(input: string): string {
  const segments: string[] = [];
  for (const segment of input.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/** Maps a client path to the organization's storage; nothing of another organization has a path here. */
export function resolvePath(input: string, org: string): LogicalPath {
  const path = normalizePath(input);
  if (path === '/') return { kind: 'root', path };
  for (const dir of logicalDirectories(org)) {
    if (path === dir.entry) return { kind: 'folder', path, area: dir.area, prefix: `${dir.target}/` };
    if (path.startsWith(`${dir.entry}/`)) {
      const key = `${dir.target}/${path.slice(dir.entry.length + 1)}`;
      if (Buffer.byteLength(key) > MAX_KEY_BYTES) return { kind: 'outside', path };
      return { kind: 'entry', path, area: dir.area, key };
    }
  }
  return { kind: 'outside', path };
}

/** The names `/` lists. */
export function rootFolders(org: string): string[] {
  return logicalDirectories(org).map((dir) => dir.entry.slice(1));
}
