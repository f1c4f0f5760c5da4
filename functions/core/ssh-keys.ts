/**
 * SFTP public keys: what an organization's SFTP user may log in with, checked before a key is stored anywhere.
 *
 * Rules (each refusal names its rule, as `code` and in the message):
 * - One OpenSSH public key line: `<type> <base64> [comment]`, at most 2048 characters (Transfer Family's
 *   SshPublicKeyBody limit) - `ssh_key_malformed` otherwise.
 * - Types: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (Transfer Family's service-managed users take these).
 *   DSA (`ssh-dss`) is refused: OpenSSH disabled it years ago and it is limited to 1024 bits - `ssh_key_dsa`.
 *   Any other type (security keys `sk-…`, certificates) - `ssh_key_type_unsupported`.
 * - ssh-rsa: a modulus of at least 2048 bits - `ssh_key_rsa_too_short`.
 * - The base64 blob must decode to the same type and well-formed key data (32 bytes for ed25519, an uncompressed
 *   point of the named curve for ECDSA) - `ssh_key_malformed`.
 *
 * A key is known by its SHA-256 fingerprint (`SHA256:…`, as `ssh-keygen -lf` prints it): that is its id in the API.
 * Pure: no I/O; hashing is deterministic.
 */
import { createHash } from 'node:crypto';
import type { Problem } from './problems.ts';

/** Transfer Family's quota of SSH public keys per service-managed user; the twin keeps the same bound. */
export const MAX_SSH_KEYS_PER_USER = 50;
/** Transfer Family refuses a longer SshPublicKeyBody. */
export const MAX_SSH_KEY_LENGTH = 2048;
export const MIN_RSA_BITS = 2048;

export type SshKeyType =
  | 'ssh-ed25519'
  | 'ssh-rsa'
  | 'ecdsa-sha2-nistp256'
  | 'ecdsa-sha2-nistp384'
  | 'ecdsa-sha2-nistp521';

export interface ParsedSshKey {
  type: SshKeyType;
  /** Key size: modulus bits for RSA, curve bits for ECDSA, 256 for ed25519. */
  bits: number;
  /** `SHA256:<base64 without padding>` of the key blob. */
  fingerprint: string;
  /** The normalised line: type, blob and the comment when there is one. */
  body: string;
  comment?: string;
}

export type SshKeyCheck = { ok: true; key: ParsedSshKey } | { ok: false; problem: Problem };

/** The point length (uncompressed, 0x04 || X || Y) and bit size of each ECDSA curve. */
const CURVES: Record<string, { name: string; pointLength: number; bits: number }> = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', pointLength: 65, bits: 256 },
  'ecdsa-sha2-nistp384': { name: 'nistp384', pointLength: 97, bits: 384 },
  'ecdsa-sha2-nistp521': { name: 'nistp521', pointLength: 133, bits: 521 },
};

const ALLOWED = 'ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa of at least 2048 bits';

function refuse(code: string, message: string, rule: string): SshKeyCheck {
  return { ok: false, problem: { code, message, rule } };
}

/** Reads the SSH wire format's length-prefixed strings (RFC 4251 §5) off a blob. */
class WireReader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}
  string(): Buffer | undefined {
    if (this.offset + 4 > this.data.length) return undefined;
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) return undefined;
    this.offset = start + length;
    return this.data.subarray(start, start + length);
  }
  get done(): boolean {
    return this.offset === this.data.length;
  }
}

/** Bits of an mpint (RFC 4251: two's complement, a leading zero byte when the top bit is set). */
function mpintBits(value: Buffer): number {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  if (i === value.length) return 0;
  return (value.length - i - 1) * 8 + (32 - Math.clz32(value[i]!));
}

export function sshKeyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Checks one OpenSSH public key line against the rules above. */
export function parseSshPublicKey(input: unknown): SshKeyCheck {
  const malformed = (why: string) =>
    refuse('ssh_key_malformed', `the SSH public key is malformed: ${why}`, `one OpenSSH public key line (${ALLOWED})`);
  if (typeof input !== 'string' || input.trim() === '')
    return malformed('expected a line such as "ssh-ed25519 AAAA… name"');
  const line = input.trim();
  // Before the one-line rule: a pasted file is several lines, and what it is matters more than how many lines it has.
  if (/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY/.test(line)) {
    return malformed(
      'this is a PRIVATE key: keep it secret (make a new pair if it was shared) and give the public line instead (ssh-keygen -y -f key)',
    );
  }
  if (line.startsWith('-----BEGIN') || line.startsWith('---- BEGIN')) {
    return malformed(
      'this is a PEM or SSH2 file; give the OpenSSH line (ssh-keygen -y -f key, or ssh-keygen -i -f key.pub)',
    );
  }
  if (/[\r\n]/.test(line)) return malformed('expected exactly one line');
  if (line.length > MAX_SSH_KEY_LENGTH) {
    return malformed(`it has ${line.length} characters; at most ${MAX_SSH_KEY_LENGTH} are accepted`);
  }
  const [type = '', blobText = '', ...rest] = line.split(/\s+/);
  const comment = rest.join(' ');
  if (type === 'ssh-dss') {
    return refuse(
      'ssh_key_dsa',
      'DSA keys (ssh-dss) are refused: they are limited to 1024 bits and disabled by OpenSSH; use ssh-ed25519',
      `key type: ${ALLOWED}`,
    );
  }
  if (type !== 'ssh-ed25519' && type !== 'ssh-rsa' && !(type in CURVES)) {
    return refuse(
      'ssh_key_type_unsupported',
      `SSH key type "${type.slice(0, 60)}" is not accepted; use ${ALLOWED}`,
      `key type: ${ALLOWED}`,
    );
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blobText) || blobText.length % 4 !== 0) {
    return malformed('the key data after the type is not base64');
  }
  const blob = Buffer.from(blobText, 'base64');
  const reader = new WireReader(blob);
  const inner = reader.string()?.toString('latin1');
  if (inner !== type) return malformed(`the key data says "${inner ?? '?'}" but the line says "${type}"`);

  let bits: number;
  if (type === 'ssh-ed25519') {
    const key = reader.string();
    if (key?.length !== 32 || !reader.done) return malformed('an ed25519 key holds exactly 32 bytes');
    bits = 256;
  } else if (type === 'ssh-rsa') {
    const e = reader.string();
    const n = reader.string();
    if (!e || !n || !reader.done || mpintBits(e) === 0) return malformed('an RSA key holds an exponent and a modulus');
    bits = mpintBits(n);
    if (bits < MIN_RSA_BITS) {
      return refuse(
        'ssh_key_rsa_too_short',
        `this ssh-rsa key has ${bits} bits; RSA keys need at least ${MIN_RSA_BITS} (ssh-keygen -t ed25519, or -t rsa -b 4096)`,
        `ssh-rsa >= ${MIN_RSA_BITS} bits`,
      );
    }
  } else {
    const curve = CURVES[type]!;
    const name = reader.string()?.toString('latin1');
    const point = reader.string();
    if (name !== curve.name || !point || point.length !== curve.pointLength || point[0] !== 4 || !reader.done) {
      return malformed(`an ${type} key holds the curve ${curve.name} and an uncompressed point`);
    }
    bits = curve.bits;
  }
  return {
    ok: true,
    key: {
      type: type as SshKeyType,
      bits,
      fingerprint: sshKeyFingerprint(blob),
      body: comment ? `${type} ${blobText} ${comment}` : `${type} ${blobText}`,
      ...(comment ? { comment } : {}),
    },
  };
}
