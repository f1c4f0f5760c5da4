/**
 * The operator route's client, for `npm run org` (scripts/org.ts): locally the twin's operator credential from
 * .local/stack.json (a bearer token), in AWS a SigV4 signature of the request for `execute-api` with the caller's
 * credentials (the SDK's default chain: environment, profile, SSO, instance role), which API Gateway's IAM
 * authorizer checks. The credential chain and the signer are the AWS SDK's own (@aws-sdk/credential-provider-node,
 * @smithy/signature-v4, both installed with the SDK clients); the hash is Node's.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

export type OperatorTarget =
  | { kind: 'local'; url: string; token: string }
  | { kind: 'aws'; url: string; region: string };

/** SHA-256 (and its HMAC) in the shape the signer asks for. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** The twin's operator route, from the stack.json `npm start` writes. */
export function localTarget(stateDir: string): OperatorTarget {
  const file = join(stateDir, 'stack.json');
  let info: { operator?: { url?: string; token?: string } };
  try {
    info = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${file} not found: start the local stack first (npm start), or give --url for AWS`);
  }
  if (!info.operator?.url || !info.operator.token) throw new Error(`${file} has no operator entry: restart npm start`);
  return { kind: 'local', url: info.operator.url, token: info.operator.token };
}

/** The region of an `https://<id>.execute-api.<region>.amazonaws.com/...` URL, or AWS_REGION. */
export function regionOf(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const match = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(new URL(url).hostname);
  const region = match?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('the region is not in the URL: set AWS_REGION');
  return region;
}

export interface OperatorAnswer {
  status: number;
  body: unknown;
}

/** One request to the operator route (`path` below /operator/v1, e.g. `/organizations/acme`). */
export async function operatorRequest(
  target: OperatorTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<OperatorAnswer> {
  const url = new URL(`${target.url.replace(/\/$/, '')}${path}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {
    host: url.host,
    accept: 'application/json',
    ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
  };
  if (target.kind === 'local') {
    headers.authorization = `Bearer ${target.token}`;
  } else {
    const signer = new SignatureV4({
      service: 'execute-api',
      region: target.region,
      credentials: defaultProvider(),
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    Object.assign(headers, signed.headers);
  }
  // fetch sets Host itself.
  const { host: _host, ...sent } = headers;
  const response = await fetch(url, { method, headers: sent, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (an API Gateway error page): shown as text
  }
  return { status: response.status, body: parsed };
}
