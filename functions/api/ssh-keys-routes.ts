/**
 * The caller organization's SFTP public keys, managed by its firm admin (rotation with no downtime: add the new key,
 * switch the client, remove the old one). Reads are open to every role; writes are a firm admin's (roleGuard).
 *
 *   GET    /v1/sftp-keys          -> 200 { keys: [{ id, type, bits, body, addedAt }], limit }
 *   POST   /v1/sftp-keys          { publicKey } -> 201 key | 400 (the rule it breaks) | 409 exists / full
 *   DELETE /v1/sftp-keys/:keyId   -> 200 key | 404     keyId: the fingerprint `SHA256:…` (URL-encoded)
 *
 * In AWS a key is imported into the organization's Transfer Family user (ImportSshPublicKey; DeleteSshPublicKey to
 * remove); on the twin the SFTP server reads the keys from the Organizations table at every login.
 */
import { Hono } from 'hono';
import { addSshKey, listSshKeys, type OrganizationAdminDeps, removeSshKey } from '../core/organization-admin.ts';
import type { OrganizationStore, SftpUsers } from '../core/ports.ts';
import { MAX_SSH_KEYS_PER_USER } from '../core/ssh-keys.ts';
import { ApiError, apiError } from './errors.ts';

export type SshKeysEnv = { Variables: { org: string; stores: { organizations?: OrganizationStore } } };

export interface SshKeysApiDependencies {
  /** The SFTP users' provider (Transfer Family in AWS); absent: keys are only stored (the twin reads them). */
  sftpUsers?: SftpUsers;
}

const STATUS = { not_found: 404, exists: 409, full: 409, invalid: 400, has_data: 409, conflict: 409 } as const;

export function sshKeyRoutes(deps: SshKeysApiDependencies = {}): Hono<SshKeysEnv> {
  const app = new Hono<SshKeysEnv>();
  const adminOf = (organizations: OrganizationStore | undefined): OrganizationAdminDeps => {
    if (!organizations) throw new Error('the API was built without the organizations store');
    const none = async () => {};
    return {
      organizations,
      sftpUsers: deps.sftpUsers ?? {
        ensureUser: none,
        deleteUser: none,
        importKey: async () => undefined,
        deleteKey: none,
      },
      // Key routes never create folders nor erase data.
      data: { createFolders: none, holdings: async () => [], jobIds: async () => [], erase: none },
      now: () => new Date(),
    };
  };

  app.get('/sftp-keys', async (c) => {
    const listed = await listSshKeys(adminOf(c.get('stores').organizations), c.get('org'));
    if (!listed.ok) return apiError(c, 404, listed.code, listed.message);
    return c.json({ keys: listed.value, limit: MAX_SSH_KEYS_PER_USER }, 200);
  });

  app.post('/sftp-keys', async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new ApiError(400, 'invalid_json', 'the body must be JSON: { "publicKey": "ssh-ed25519 AAAA… name" }');
    }
    const line = typeof raw === 'object' && raw !== null ? (raw as { publicKey?: unknown }).publicKey : undefined;
    // The request is judged before any store is reached.
    if (typeof line !== 'string') {
      throw new ApiError(400, 'invalid_body', 'publicKey is required: the public key line, "ssh-ed25519 AAAA… name"');
    }
    const added = await addSshKey(adminOf(c.get('stores').organizations), c.get('org'), line);
    if (!added.ok)
      return apiError(c, STATUS[added.code], added.problems?.[0]?.code ?? added.code, added.message, added.problems);
    return c.json(added.value, 201);
  });

  app.delete('/sftp-keys/:keyId', async (c) => {
    const removed = await removeSshKey(adminOf(c.get('stores').organizations), c.get('org'), c.req.param('keyId'));
    if (!removed.ok) return apiError(c, STATUS[removed.code], removed.code, removed.message);
    return c.json(removed.value, 200);
  });
  return app;
}
