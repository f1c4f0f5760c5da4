/**
 * The operator's and the firm admin's operations on organizations, over the ports (no SDK here): the same code runs
 * behind the operator route in AWS and on the twin, and behind the `/v1/sftp-keys` routes.
 *
 * - create: the item first (refused if the id is taken), then the SFTP user and its keys, then its folders. A create
 *   cut off midway is finished by `sync` (the user, keys and folders are made idempotently for an existing item).
 * - suspend: the status first (the twin's logins, imports and exports read it at once), then the keys leave the
 *   provider (Transfer Family has no "disabled" user: a user without keys cannot log in); the keys stay on the item.
 *   resume: the keys go back first, then the status. Both repeatable.
 * - delete: refused while the organization holds data, unless forced; forced, it goes `deleting` and runs
 *   ERASE_STEPS in order, the item last, so running it again after a failure resumes.
 * - keys: validated (ssh-keys.ts), at most MAX_SSH_KEYS_PER_USER, imported into the provider unless the organization
 *   is suspended (they are imported at resume); removing deletes it from the provider, then from the item.
 */
import {
  ERASE_STEPS,
  type NewOrganization,
  newOrganization,
  type Organization,
  type OrganizationChange,
  type StoredSshKey,
} from './organizations.ts';
import type { JobScheduler, OrganizationData, OrganizationStore, SftpUsers } from './ports.ts';
import type { Problem } from './problems.ts';
import { MAX_SSH_KEYS_PER_USER, parseSshPublicKey } from './ssh-keys.ts';

export interface OrganizationAdminDeps {
  organizations: OrganizationStore;
  sftpUsers: SftpUsers;
  data: OrganizationData;
  /** The job schedules (EventBridge Scheduler; the twin's scheduler); absent: none to remove. */
  scheduler?: Pick<JobScheduler, 'remove'>;
  now(): Date;
}

export type AdminResult<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      code: 'not_found' | 'exists' | 'full' | 'has_data' | 'conflict' | 'invalid';
      message: string;
      problems?: Problem[];
    };

const notFound = (org: string) =>
  ({ ok: false, code: 'not_found', message: `there is no organization ${org}` }) as const;

/** Makes the provider's user, keys and folders match the item (create, and the repair of an interrupted create). */
async function provision(deps: OrganizationAdminDeps, org: Organization): Promise<Organization> {
  await deps.sftpUsers.ensureUser(org.id);
  if (org.status === 'active') await importMissingKeys(deps, org);
  await deps.data.createFolders(org.id);
  return (await deps.organizations.get(org.id)) ?? org;
}

async function importMissingKeys(deps: OrganizationAdminDeps, org: Organization): Promise<void> {
  for (const key of org.sshKeys) {
    if (key.providerKeyId) continue;
    const id = await deps.sftpUsers.importKey(org.id, key.body);
    if (id) await deps.organizations.setProviderKeyId(org.id, key.fingerprint, id);
  }
}

export async function createOrganization(
  deps: OrganizationAdminDeps,
  input: NewOrganization,
): Promise<AdminResult<Organization>> {
  const org = newOrganization(input, deps.now());
  if (!(await deps.organizations.create(org))) {
    return { ok: false, code: 'exists', message: `organization ${org.id} exists already` };
  }
  return { ok: true, value: await provision(deps, org) };
}

/**
 * The bootstrap of the CDK context file (`npm run org -- sync`): creates what is missing with the file's keys, changes
 * the fields the file gives on what exists, and repairs an interrupted create. It never touches an existing
 * organization's keys: after the first deploy they are the firm admin's (/v1/sftp-keys), and a file kept from then
 * must not bring back a key that was rotated out.
 */
export async function syncOrganization(
  deps: OrganizationAdminDeps,
  input: NewOrganization,
): Promise<AdminResult<{ organization: Organization; created: boolean }>> {
  const existing = await deps.organizations.get(input.id);
  if (!existing) {
    const created = await createOrganization(deps, input);
    return created.ok ? { ok: true, value: { organization: created.value, created: true } } : created;
  }
  if (existing.status === 'deleting') {
    return {
      ok: false,
      code: 'conflict',
      message: `organization ${input.id} is being deleted; finish the delete first`,
    };
  }
  const { id, sshPublicKeys: _keysOnlyAtCreation, ...fields } = input;
  const updated = (await deps.organizations.update(id, fields, deps.now())) ?? existing;
  return { ok: true, value: { organization: await provision(deps, updated), created: false } };
}

export async function updateOrganization(
  deps: OrganizationAdminDeps,
  org: string,
  change: OrganizationChange,
): Promise<AdminResult<Organization>> {
  const updated = await deps.organizations.update(org, change, deps.now());
  return updated ? { ok: true, value: updated } : notFound(org);
}

export async function suspendOrganization(
  deps: OrganizationAdminDeps,
  org: string,
): Promise<AdminResult<Organization>> {
  const current = await deps.organizations.get(org);
  if (!current) return notFound(org);
  if (current.status === 'deleting')
    return { ok: false, code: 'conflict', message: `organization ${org} is being deleted` };
  await deps.organizations.setStatus(org, 'suspended', deps.now());
  for (const key of current.sshKeys) {
    if (!key.providerKeyId) continue;
    await deps.sftpUsers.deleteKey(org, key.providerKeyId);
    await deps.organizations.setProviderKeyId(org, key.fingerprint, undefined);
  }
  return { ok: true, value: (await deps.organizations.get(org)) ?? current };
}

export async function resumeOrganization(deps: OrganizationAdminDeps, org: string): Promise<AdminResult<Organization>> {
  const current = await deps.organizations.get(org);
  if (!current) return notFound(org);
  if (current.status === 'deleting')
    return { ok: false, code: 'conflict', message: `organization ${org} is being deleted` };
  await deps.sftpUsers.ensureUser(org);
  await importMissingKeys(deps, current);
  const resumed = await deps.organizations.setStatus(org, 'active', deps.now());
  return resumed ? { ok: true, value: resumed } : notFound(org);
}

export interface DeleteOutcome {
  org: string;
  /** The steps run, in order (all of ERASE_STEPS, then the item). */
  steps: string[];
}

export async function deleteOrganization(
  deps: OrganizationAdminDeps,
  org: string,
  options: { force: boolean },
): Promise<AdminResult<DeleteOutcome>> {
  const current = await deps.organizations.get(org);
  if (!current) return notFound(org);
  // A delete that was started (status deleting) is resumed without asking again what it holds.
  if (current.status !== 'deleting' && !options.force) {
    const holdings = await deps.data.holdings(org);
    if (holdings.length > 0) {
      return {
        ok: false,
        code: 'has_data',
        message: `organization ${org} still holds ${holdings.join(', ')}; delete it with force to remove them too`,
      };
    }
  }
  await deps.organizations.setStatus(org, 'deleting', deps.now());
  const steps: string[] = [];
  for (const step of ERASE_STEPS) {
    if (step === 'sftp_user') await deps.sftpUsers.deleteUser(org);
    else if (step === 'schedules') {
      for (const jobId of await deps.data.jobIds(org)) await deps.scheduler?.remove(org, jobId);
    } else await deps.data.erase(org, step);
    steps.push(step);
  }
  await deps.organizations.remove(org);
  steps.push('organization');
  return { ok: true, value: { org, steps } };
}

/** A key as the API shows it: never more than the public line and what identifies it. */
export interface SshKeyView {
  id: string;
  type: string;
  bits: number;
  body: string;
  addedAt: string;
}

export function viewOfKey(key: StoredSshKey): SshKeyView {
  return { id: key.fingerprint, type: key.type, bits: key.bits, body: key.body, addedAt: key.addedAt };
}

export async function listSshKeys(deps: Pick<OrganizationAdminDeps, 'organizations'>, org: string) {
  const found = await deps.organizations.get(org);
  return found ? { ok: true as const, value: found.sshKeys.map(viewOfKey) } : notFound(org);
}

export async function addSshKey(
  deps: OrganizationAdminDeps,
  org: string,
  line: unknown,
): Promise<AdminResult<SshKeyView>> {
  const checked = parseSshPublicKey(line);
  if (!checked.ok) return { ok: false, code: 'invalid', message: checked.problem.message, problems: [checked.problem] };
  const { fingerprint, body, type, bits } = checked.key;
  const key: StoredSshKey = { fingerprint, body, type, bits, addedAt: deps.now().toISOString() };
  const added = await deps.organizations.addKey(org, key);
  if (added === 'not_found') return notFound(org);
  if (added === 'exists') return { ok: false, code: 'exists', message: `the key ${fingerprint} is already there` };
  if (added === 'full') {
    return {
      ok: false,
      code: 'full',
      message: `the SFTP user has ${MAX_SSH_KEYS_PER_USER} keys, the most it may have; remove one first`,
    };
  }
  const current = await deps.organizations.get(org);
  if (current?.status === 'active') {
    try {
      const id = await deps.sftpUsers.importKey(org, body);
      if (id) await deps.organizations.setProviderKeyId(org, fingerprint, id);
    } catch (err) {
      // Not left half-added: the provider refused it, so the item does not list it either.
      await deps.organizations.removeKey(org, fingerprint);
      throw err;
    }
  }
  return { ok: true, value: viewOfKey(key) };
}

/** The same answer for a key that never existed and another organization's: the id is not echoed. */
const NO_SUCH_KEY = "there is no such key (the id is the key's SHA256 fingerprint, as GET /v1/sftp-keys lists it)";

export async function removeSshKey(
  deps: OrganizationAdminDeps,
  org: string,
  fingerprint: string,
): Promise<AdminResult<SshKeyView>> {
  const current = await deps.organizations.get(org);
  const key = current?.sshKeys.find((k) => k.fingerprint === fingerprint);
  if (!current || !key) return { ok: false, code: 'not_found', message: NO_SUCH_KEY };
  // The provider first: a key that can still log in is never shown as removed.
  if (key.providerKeyId) await deps.sftpUsers.deleteKey(org, key.providerKeyId);
  const removed = await deps.organizations.removeKey(org, fingerprint);
  return removed ? { ok: true, value: viewOfKey(removed) } : { ok: false, code: 'not_found', message: NO_SUCH_KEY };
}
