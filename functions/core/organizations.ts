import { isValidOrgId } from './transfer/layout.ts';

/**
 * An organization as the infrastructure knows it: who may connect over SFTP, and its billing limit.
 * The CDK app reads a list of these from the `organizations` context value (or the file it names); the twin writes
 * its own under .local/. One shape, validated in one place.
 */
export interface OrganizationConfig {
  id: string;
  name: string;
  /** OpenSSH public keys (`ssh-ed25519 AAAA… comment`) allowed to log in as this organization's SFTP user. */
  sshPublicKeys: string[];
  /** Records the organization may import per billing period (the Billing report's "Allowed Limit"). */
  allowedRecords: number;
  /** Integration contacts (e-mail addresses) told of failed, overdue and missed runs of every job. */
  contacts?: string[];
}

const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/;

/** The SFTP user name of an organization: Transfer Family user names allow 3-100 of [\w@.-]. */
export function sftpUserName(org: string): string {
  return `org-${org}`;
}

export function parseOrganizations(input: unknown, source: string): OrganizationConfig[] {
  if (!Array.isArray(input)) throw new Error(`${source}: expected a list of organizations`);
  const seen = new Set<string>();
  return input.map((raw, i) => {
    const where = `${source}[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: expected an object`);
    const o = raw as Record<string, unknown>;
    if (typeof o.id !== 'string' || !isValidOrgId(o.id)) {
      throw new Error(`${where}.id: "${String(o.id)}" is not a valid organization id (2-63 of a-z, 0-9, -)`);
    }
    if (seen.has(o.id)) throw new Error(`${where}.id: organization "${o.id}" is listed twice`);
    seen.add(o.id);
    const keys = o.sshPublicKeys ?? [];
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string' || !PUBLIC_KEY.test(k.trim()))) {
      throw new Error(`${where}.sshPublicKeys: expected OpenSSH public keys such as "ssh-ed25519 AAAA…"`);
    }
    const allowed = o.allowedRecords ?? 100_000;
    if (typeof allowed !== 'number' || !Number.isInteger(allowed) || allowed < 0) {
      throw new Error(`${where}.allowedRecords: expected a whole number >= 0, got ${String(allowed)}`);
    }
    const contacts = o.contacts ?? [];
    if (
      !Array.isArray(contacts) ||
      contacts.some((c) => typeof c !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(c))
    ) {
      throw new Error(`${where}.contacts: expected e-mail addresses such as "it@example.com"`);
    }
    return {
      ...(contacts.length ? { contacts: contacts as string[] } : {}),
      id: o.id,
      name: typeof o.name === 'string' && o.name.trim() !== '' ? o.name : o.id,
      sshPublicKeys: (keys as string[]).map((k) => k.trim()),
      allowedRecords: allowed,
    };
  });
}
