/**
 * The SftpUsers port on AWS Transfer Family (service-managed users of the stack's server). Each organization's user
 * `org-<id>` assumes the one users' role of lib/aws/sftp.ts and is narrowed by its session policy to its own folders
 * (functions/core/sftp-access.ts); its logical home is exactly /inbound, /archive, /outbound (layout.ts). Keys are
 * imported one by one (ImportSshPublicKey), so a rotation is add, switch, remove with no downtime.
 */
import {
  CreateUserCommand,
  DeleteSshPublicKeyCommand,
  DeleteUserCommand,
  DescribeUserCommand,
  ImportSshPublicKeyCommand,
  type TransferClient,
  UpdateUserCommand,
} from '@aws-sdk/client-transfer';
import { sftpUserName } from '../core/organizations.ts';
import type { SftpUsers } from '../core/ports.ts';
import { sftpSessionPolicy } from '../core/sftp-access.ts';
import { logicalDirectories } from '../core/transfer/layout.ts';

export interface TransferSettings {
  serverId: string;
  /** Creating users: the users' role (lib/aws/sftp.ts `usersRole`) and the bucket. Keys alone need none of them. */
  home?: { userRoleArn: string; bucketName: string; bucketArn: string };
}

/** The environment lib/aws/sftp.ts gives the functions that manage users. */
export const TRANSFER_ENV = {
  serverId: 'SFTP_SERVER_ID',
  userRoleArn: 'SFTP_USER_ROLE_ARN',
  bucketArn: 'SFTP_BUCKET_ARN',
} as const;

export function transferSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TransferSettings | undefined {
  const serverId = env[TRANSFER_ENV.serverId];
  const userRoleArn = env[TRANSFER_ENV.userRoleArn];
  const bucketArn = env[TRANSFER_ENV.bucketArn];
  const bucketName = env.INTEGRATOR_BUCKET;
  if (!serverId) return undefined;
  return {
    serverId,
    ...(userRoleArn && bucketArn && bucketName ? { home: { userRoleArn, bucketArn, bucketName } } : {}),
  };
}

const isNamed = (err: unknown, name: string) => (err as { name?: string } | null)?.name === name;

export function transferSftpUsers(client: TransferClient, settings: TransferSettings): SftpUsers {
  const user = (org: string) => ({ ServerId: settings.serverId, UserName: sftpUserName(org) });
  const home = (org: string) => {
    const where = settings.home;
    if (!where) throw new Error(`${TRANSFER_ENV.userRoleArn} and ${TRANSFER_ENV.bucketArn} are needed to create users`);
    return homeOf(org, where);
  };
  const homeOf = (org: string, where: NonNullable<TransferSettings['home']>) => ({
    Role: where.userRoleArn,
    HomeDirectoryType: 'LOGICAL' as const,
    HomeDirectoryMappings: logicalDirectories(org).map(({ entry, target }) => ({
      Entry: entry,
      Target: `/${where.bucketName}/${target}`,
      Type: 'DIRECTORY' as const,
    })),
    Policy: sftpSessionPolicy(org, where.bucketArn),
  });
  const describe = async (org: string) => {
    try {
      return (await client.send(new DescribeUserCommand(user(org)))).User;
    } catch (err) {
      if (isNamed(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  };
  return {
    async ensureUser(org) {
      if (await describe(org)) {
        // An existing user is brought in step with the layout (a user made by an older release).
        await client.send(new UpdateUserCommand({ ...user(org), ...home(org) }));
        return;
      }
      try {
        await client.send(new CreateUserCommand({ ...user(org), ...home(org) }));
      } catch (err) {
        if (!isNamed(err, 'ResourceExistsException')) throw err;
      }
    },
    async deleteUser(org) {
      try {
        await client.send(new DeleteUserCommand(user(org)));
      } catch (err) {
        if (!isNamed(err, 'ResourceNotFoundException')) throw err;
      }
    },
    async importKey(org, body) {
      try {
        const out = await client.send(new ImportSshPublicKeyCommand({ ...user(org), SshPublicKeyBody: body }));
        return out.SshPublicKeyId;
      } catch (err) {
        if (!isNamed(err, 'ResourceExistsException')) throw err;
        // Imported before (a retried request): its id, found by the key's type and data.
        const [type, data] = body.split(/\s+/);
        const found = (await describe(org))?.SshPublicKeys?.find((k) => {
          const [t, d] = (k.SshPublicKeyBody ?? '').split(/\s+/);
          return t === type && d === data;
        });
        if (!found?.SshPublicKeyId) throw err;
        return found.SshPublicKeyId;
      }
    },
    async deleteKey(org, providerKeyId) {
      try {
        await client.send(new DeleteSshPublicKeyCommand({ ...user(org), SshPublicKeyId: providerKeyId }));
      } catch (err) {
        if (!isNamed(err, 'ResourceNotFoundException')) throw err;
      }
    },
  };
}

/** The twin's SFTP server reads users and keys from the Organizations table at every login: nothing to do here. */
export const tableReadSftpUsers: SftpUsers = {
  async ensureUser() {},
  async deleteUser() {},
  async importKey() {
    return undefined;
  },
  async deleteKey() {},
};
