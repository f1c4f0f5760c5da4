/**
 * The grant vault (GrantVault, core/calendar/provider.ts): a connection's OAuth grant (refresh token, MSAL's token
 * cache) stored in the CalendarGrants table, envelope-encrypted: a fresh 256-bit data key per write encrypts the
 * grant with AES-256-GCM; the data key itself is encrypted by KMS in AWS (GenerateDataKey, the stack's calendar
 * key) or by the twin's local key, and only that encrypted form is stored beside the ciphertext. The organization
 * and connection are the KMS encryption context and the GCM additional data, so a grant copied onto another
 * connection's item does not decrypt. Nothing here logs, and errors never carry the grant.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { GrantVault } from '../core/calendar/provider.ts';
import { tableName } from './aws-clients.ts';

/** Who encrypts data keys: KMS in AWS, a local key on the twin. */
export interface DataKeys {
  /** A fresh data key, in plain (used once, then dropped) and encrypted (stored). */
  generate(context: Record<string, string>): Promise<{ plaintext: Buffer; encrypted: Buffer }>;
  decrypt(encrypted: Buffer, context: Record<string, string>): Promise<Buffer>;
}

export function kmsDataKeys(kms: KMSClient, keyId: string): DataKeys {
  return {
    async generate(context) {
      const out = await kms.send(
        new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
      );
      if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
      return { plaintext: Buffer.from(out.Plaintext), encrypted: Buffer.from(out.CiphertextBlob) };
    },
    async decrypt(encrypted, context) {
      const out = await kms.send(
        new DecryptCommand({ KeyId: keyId, CiphertextBlob: encrypted, EncryptionContext: context }),
      );
      if (!out.Plaintext) throw new Error('KMS Decrypt returned no key');
      return Buffer.from(out.Plaintext);
    },
  };
}

function contextText(context: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b))));
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
}

/** The twin's stand-in for KMS: data keys wrapped with AES-256-GCM under a local 32-byte key (.local/, mode 0600). */
export function localDataKeys(masterKey: Buffer): DataKeys {
  if (masterKey.length !== 32) throw new Error('the local calendar key must be 32 bytes');
  return {
    async generate(context) {
      const plaintext = randomBytes(32);
      return { plaintext, encrypted: seal(masterKey, plaintext, contextText(context)) };
    },
    async decrypt(encrypted, context) {
      return open(masterKey, encrypted, contextText(context));
    },
  };
}

/** The vault of one organization's connections (the table's key is `<org>#<connectionId>`). */
export function dynamoDbGrantVault(
  db: DynamoDBDocumentClient,
  org: string,
  keys: DataKeys,
  env: NodeJS.ProcessEnv = process.env,
): GrantVault {
  const table = tableName('CalendarGrants', env);
  const keyOf = (connectionId: string) => `${org}#${connectionId}`;
  const contextOf = (connectionId: string) => ({ org, connectionId, purpose: 'calendar-grant' });
  return {
    async read(connectionId) {
      const out = await db.send(
        new GetCommand({ TableName: table, Key: { grantKey: keyOf(connectionId) }, ConsistentRead: true }),
      );
      const item = out.Item as { encryptedKey?: Uint8Array; sealed?: Uint8Array } | undefined;
      if (!item?.encryptedKey || !item.sealed) return undefined;
      const context = contextOf(connectionId);
      const dataKey = await keys.decrypt(Buffer.from(item.encryptedKey), context);
      try {
        return open(dataKey, Buffer.from(item.sealed), contextText(context)).toString('utf8');
      } catch {
        throw new Error(`the grant of connection ${connectionId} does not decrypt (tampered, or another connection's)`);
      } finally {
        dataKey.fill(0);
      }
    },
    async write(connectionId, grant) {
      const context = contextOf(connectionId);
      const { plaintext, encrypted } = await keys.generate(context);
      try {
        const sealed = seal(plaintext, Buffer.from(grant, 'utf8'), contextText(context));
        await db.send(
          new PutCommand({
            TableName: table,
            Item: {
              grantKey: keyOf(connectionId),
              algorithm: 'AES-256-GCM',
              encryptedKey: encrypted,
              sealed,
              updatedAt: new Date().toISOString(),
            },
          }),
        );
      } finally {
        plaintext.fill(0);
      }
    },
    async forget(connectionId) {
      await db.send(new DeleteCommand({ TableName: table, Key: { grantKey: keyOf(connectionId) } }));
    },
  };
}
