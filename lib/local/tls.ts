/**
 * TLS for the local Microsoft stand-in. MSAL refuses an http authority and the Graph client sends no Authorization
 * header over http (../shared/LOCAL-PARTS.md), so the stand-in serves HTTPS with a server certificate generated at
 * each start (SAN IP:127.0.0.1 and DNS:localhost).
 *
 * Node reads NODE_EXTRA_CA_CERTS once, when the process starts (a file written later is ignored: seen here), so a
 * certificate that changed at every start could never be trusted by the process that started it. Hence two parts:
 * - a local certificate authority, created once under `.local/tls/` (`ca.pem`, `ca-key.pem`) and kept, written
 *   atomically so that concurrent starts agree on one;
 * - the server certificate, signed by that authority at every start of the stand-in, held in memory only.
 *
 * A Node process that talks to the stand-in must therefore START with
 *   NODE_EXTRA_CA_CERTS=.local/tls/ca.pem
 * after the authority exists: `tsx lib/local/tls.ts` creates it (if absent) and prints its path. The npm scripts
 * that need it (start, test:integration, test:e2e) do both; a process spawned by a test inherits the variable.
 */
import { createHash, randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';

/** `.local/tls/` at the repository's root, whatever the working directory. */
export const DEFAULT_TLS_DIR = fileURLToPath(new URL('../../.local/tls/', import.meta.url));

export interface LocalCa {
  certPath: string;
  cert: string;
  key: string;
}

export interface ServerCertificate {
  cert: string;
  key: string;
  /** The authority's certificate, for clients that take a `ca` option. */
  ca: string;
}

function caPaths(dir: string) {
  const abs = resolve(dir);
  return { dir: abs, cert: join(abs, 'ca.pem'), key: join(abs, 'ca-key.pem') };
}

function readCa(dir: string): LocalCa | undefined {
  const paths = caPaths(dir);
  try {
    return { certPath: paths.cert, cert: readFileSync(paths.cert, 'utf8'), key: readFileSync(paths.key, 'utf8') };
  } catch {
    return undefined;
  }
}

/**
 * The local authority under `dir`, created if absent. Safe to call from concurrent processes: the key and the
 * certificate are written to temporary names and linked into place (a link fails when the name exists), key first,
 * so a reader that finds `ca.pem` always finds its key.
 */
export async function ensureLocalCa(dir = DEFAULT_TLS_DIR): Promise<LocalCa> {
  const existing = readCa(dir);
  if (existing) return existing;
  const paths = caPaths(dir);
  mkdirSync(paths.dir, { recursive: true });
  const now = new Date();
  const made = await generate([{ name: 'commonName', value: 'Integrator local stand-in CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 10 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const tag = randomUUID();
  const tmpKey = join(paths.dir, `.ca-key.${tag}`);
  const tmpCert = join(paths.dir, `.ca.${tag}`);
  writeFileSync(tmpKey, made.private, { mode: 0o600 });
  writeFileSync(tmpCert, made.cert);
  try {
    linkSync(tmpKey, paths.key);
    linkSync(tmpCert, paths.cert);
  } catch {
    // Another process won the race: its pair is the one.
  } finally {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
  }
  for (let i = 0; i < 50; i++) {
    const ca = readCa(dir);
    if (ca) return ca;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`The local certificate authority under ${paths.dir} could not be created or read.`);
}

/** A server certificate for 127.0.0.1 and localhost, signed by the local authority: generated at every start. */
export async function issueServerCertificate(dir = DEFAULT_TLS_DIR): Promise<ServerCertificate> {
  const ca = await ensureLocalCa(dir);
  const now = new Date();
  const made = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 30 * 86_400_000),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { cert: made.cert, key: made.private, ca: ca.cert };
}

function fingerprint(pem: string): string {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return createHash('sha256').update(body).digest('hex');
}

/**
 * True when this process trusts the local authority, i.e. it started with NODE_EXTRA_CA_CERTS naming it. The
 * stand-in checks it at start so that a forgotten variable is a clear message, not "unable to verify the first
 * certificate" deep inside MSAL.
 */
export function processTrustsLocalCa(ca: LocalCa): boolean {
  const wanted = fingerprint(ca.cert);
  // Node 22.15+ lists the certificates it loaded; older Nodes (the system's 20) are judged by the variable's file.
  const loaded = (tls as { getCACertificates?: (type: 'extra') => string[] }).getCACertificates;
  if (loaded) return loaded('extra').some((pem) => fingerprint(pem) === wanted);
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return false;
  try {
    const pems =
      readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return pems.some((pem) => fingerprint(pem) === wanted);
  } catch {
    return false;
  }
}

export function untrustedCaMessage(ca: LocalCa): string {
  return (
    `This Node process does not trust the local stand-in certificate authority (${ca.certPath}). ` +
    `Start it with NODE_EXTRA_CA_CERTS=${ca.certPath} (Node reads the variable only at start; ` +
    '`tsx lib/local/tls.ts` creates the authority and prints the path).'
  );
}

// `tsx lib/local/tls.ts [dir]`: create the authority if absent and print its certificate's path.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ca = await ensureLocalCa(process.argv[2] ?? DEFAULT_TLS_DIR);
  process.stdout.write(`${ca.certPath}\n`);
}
