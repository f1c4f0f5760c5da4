/**
 * The local SFTP server against the real OpenSSH clients (sftp, scp) and ssh2's client, storing into the real local
 * S3 server. What is asserted is what lands in S3, as the import handler will see it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Client, type SFTPWrapper } from 'ssh2';
import { s3Client } from '../../functions/adapters/aws-clients.ts';
import { sftpUserName } from '../../functions/core/organizations.ts';
import type { TransferUploadEvent } from '../../functions/core/transfer/transfer-events.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { keyOfVersion } from '../../lib/local/s3-versions.ts';
import { S3Store } from '../../lib/local/sftp/s3-store.ts';
import { type SftpLogEntry, type SftpServer, type SftpUser, startSftpServer } from '../../lib/local/sftp-server.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';
import { runScpUpload, runSftpBatch, type SshTarget } from '../support/sftp-client.ts';

const T = { timeout: 20_000 };

let parts: LocalParts;
let s3: S3Client;
let server: SftpServer;
let dir: string;
let acme: SshTarget;
let globex: SshTarget;
let strangerKeyPath: string;
let strangerPublicKey: string;
let hostKeyPath: string;
const users: SftpUser[] = [];
const logs: SftpLogEntry[] = [];
const uploadEvents: TransferUploadEvent[] = [];
/** Every key an ObjectCreated event reported, decoded from the AWS form. */
const created: string[] = [];

before(async () => {
  parts = await startLocalParts({ dynamodb: false });
  s3 = s3Client(parts.config);
  dir = mkdtempSync(join(tmpdir(), 'integrator-sftp-test-'));
  const [a, g, stranger] = await Promise.all([
    generateKeyPair(join(dir, 'keys'), 'acme'),
    generateKeyPair(join(dir, 'keys'), 'globex'),
    generateKeyPair(join(dir, 'keys'), 'stranger'),
  ]);
  strangerKeyPath = stranger.privateKeyPath;
  strangerPublicKey = stranger.publicKey;
  users.push(
    { username: sftpUserName('acme'), org: 'acme', publicKeys: [a.publicKey] },
    { username: sftpUserName('globex'), org: 'globex', publicKeys: [g.publicKey] },
  );
  parts.s3.onEvent((event) => {
    for (const r of event.Records) {
      if (r.eventName.startsWith('ObjectCreated:'))
        created.push(decodeURIComponent(r.s3.object.key.replace(/\+/g, ' ')));
    }
  });
  hostKeyPath = join(dir, 'host', 'ssh_host_ed25519_key');
  server = await startSftpServer({
    hostKeyPath,
    users: () => users,
    s3,
    bucket: parts.bucket,
    log: (entry) => logs.push(entry),
    onUploadEvent: (event) => void uploadEvents.push(event),
  });
  acme = { port: server.port, username: sftpUserName('acme'), privateKeyPath: a.privateKeyPath };
  globex = { port: server.port, username: sftpUserName('globex'), privateKeyPath: g.privateKeyPath };
});

after(async () => {
  await server?.stop();
  await parts?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function sftp(target: SshTarget, commands: string[]) {
  return runSftpBatch({ ...target, commands });
}

/** What a batch printed, without the echoed `sftp> …` command lines. */
function output(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('sftp>'));
}

async function getObject(key: string): Promise<Buffer | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function putObject(key: string, body: string | Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: key, Body: body }));
}

async function tagsOf(key: string): Promise<Record<string, string>> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: parts.bucket, Key: key }));
  return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key, t.Value]));
}

async function allObjects(): Promise<Map<string, string>> {
  const objects = await new S3Store(s3, parts.bucket).list('');
  const result = new Map<string, string>();
  for (const o of objects) result.set(o.key, (await getObject(o.key))!.toString('base64'));
  return result;
}

function localFile(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ssh2's client, for what OpenSSH's sftp cannot be made to send (raw paths, cut connections). */
async function connect(target: SshTarget): Promise<{ client: Client; sftp: SFTPWrapper }> {
  const client = new Client();
  return new Promise((resolve, reject) => {
    client
      .on('ready', () => client.sftp((error, channel) => (error ? reject(error) : resolve({ client, sftp: channel }))))
      .on('error', reject)
      .connect({
        host: '127.0.0.1',
        port: target.port,
        username: target.username,
        privateKey: readFileSync(target.privateKeyPath),
        readyTimeout: 5_000,
      });
  });
}

function call<T = void>(fn: (cb: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));
}

async function statusOf(promise: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return (error as { code: number }).code;
  }
}

const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
const FAILURE = 4;
const OP_UNSUPPORTED = 8;

test('logs in with the right key only: a wrong key, an unknown user and a password are refused', T, async () => {
  const ok = await sftp(acme, ['pwd']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Remote working directory: \/$/m);

  const wrongKey = await sftp({ ...acme, privateKeyPath: strangerKeyPath }, ['pwd']);
  assert.notEqual(wrongKey.code, 0);
  assert.match(wrongKey.stderr, /Permission denied/);

  const unknownUser = await sftp({ ...acme, username: 'org-nobody' }, ['pwd']);
  assert.notEqual(unknownUser.code, 0);
  assert.match(unknownUser.stderr, /Permission denied/);

  const password = new Client();
  const refused = await new Promise<Error>((resolve) => {
    password.on('ready', () => resolve(new Error('logged in with a password')));
    password.on('error', resolve);
    password.connect({
      host: '127.0.0.1',
      port: server.port,
      username: acme.username,
      password: 'secret',
      readyTimeout: 5_000,
    });
  });
  password.end();
  assert.match(refused.message, /authentication methods failed/);

  const failures = logs.filter((l) => l.event === 'auth_failure');
  assert.ok(failures.some((l) => l.reason === 'key_not_allowed' && l.user === acme.username));
  assert.ok(failures.some((l) => l.reason === 'unknown_user'));
  assert.ok(failures.some((l) => l.reason === 'method_not_allowed' && l.method === 'password'));
  const keyMaterial = strangerPublicKey.split(' ')[1]!;
  assert.ok(!JSON.stringify(logs).includes(keyMaterial), 'no key material in the logs');
  assert.ok(logs.some((l) => l.event === 'session_start' && l.org === 'acme'));
});

test('the home holds exactly inbound, archive and outbound, and nothing climbs above it', T, async () => {
  const r = await sftp(acme, ['ls -1 /', 'cd ..', 'cd ..', 'pwd', 'ls -1', 'ls -1 /inbound/../..']);
  assert.equal(r.code, 0, r.stderr);
  const lines = output(r.stdout);
  const folders = lines.filter((l) => !l.startsWith('Remote working directory'));
  // sftp prints each name prefixed with the path as typed.
  assert.deepEqual(
    folders.map((l) => l.replace(/^.*\//, '')),
    ['archive', 'inbound', 'outbound', 'archive', 'inbound', 'outbound', 'archive', 'inbound', 'outbound'],
  );
  assert.ok(lines.includes('Remote working directory: /'));
});

test('put stores uploads byte for byte under inbound/<org>/, for each organization', T, async () => {
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const csv = 'Employee ID,Name\n1,"Doe, Jane"\n2,Ünal Öztürk\n';
  const bigPath = localFile('big.bin', big);
  const csvPath = localFile('Payroll Q1 (1).csv', csv);
  const [a, g] = await Promise.all([
    sftp(acme, [`put ${bigPath} /inbound/big.bin`, `put "${csvPath}" "/inbound/Payroll Q1 (1).csv"`]),
    sftp(globex, ['cd inbound', `put "${csvPath}"`]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(Buffer.compare((await getObject('inbound/acme/big.bin'))!, big), 0, '3 MB file intact');
  assert.equal((await getObject('inbound/acme/Payroll Q1 (1).csv'))?.toString(), csv);
  assert.equal((await getObject('inbound/globex/Payroll Q1 (1).csv'))?.toString(), csv);
  assert.deepEqual(await tagsOf('inbound/acme/big.bin'), {}, 'a complete upload is not tagged');
  assert.ok(logs.some((l) => l.event === 'upload' && l.key === 'inbound/acme/big.bin' && l.bytes === big.length));

  const listing = await sftp(acme, ['ls -l /inbound']);
  assert.equal(listing.code, 0, listing.stderr);
  assert.match(listing.stdout, new RegExp(`^-rw-r--r-- .* ${big.length} .*big\\.bin$`, 'm'));
  assert.match(listing.stdout, /Payroll Q1 \(1\)\.csv$/m);
});

test('get downloads exactly what is in S3, with ranged reads for large files', T, async () => {
  const report = randomBytes(2 * 1024 * 1024 + 5);
  await putObject('outbound/acme/report.bin', report);
  await putObject('outbound/acme/empty.csv', Buffer.alloc(0));
  const target = join(dir, 'report.bin');
  const empty = join(dir, 'empty.csv');
  const r = await sftp(acme, ['cd /outbound', `get report.bin ${target}`, `get /outbound/empty.csv ${empty}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(Buffer.compare(readFileSync(target), report), 0);
  assert.equal(readFileSync(empty).length, 0);
});

test('no path reaches or writes another organization’s files', T, async () => {
  await putObject('inbound/globex/secret.csv', 'globex only\n');
  await putObject('archive/globex/2026-11-24/old.csv', 'archived\n');
  const before = await allObjects();
  const createdBefore = created.length;
  const probe = localFile('probe.csv', 'acme was here\n');
  const stolen = (n: number) => join(dir, `stolen-${n}.csv`);

  const r = await sftp(acme, [
    'cd /inbound',
    `-get ../../inbound/globex/secret.csv ${stolen(1)}`,
    `-get ../globex/secret.csv ${stolen(2)}`,
    `-get /inbound/../../inbound/globex/secret.csv ${stolen(3)}`,
    `-get /../../../inbound/globex/secret.csv ${stolen(4)}`,
    `-get /archive/../../globex/secret.csv ${stolen(5)}`,
    `-put ${probe} /../../inbound/globex/x.csv`,
    `-put ${probe} /archive/../../outbound/../globex/y.csv`,
    `-put ${probe} ../../globex/z.csv`,
    `-rename /inbound/../../inbound/globex/secret.csv /inbound/mine.csv`,
    `-rm /../inbound/globex/secret.csv`,
    'ls -1 /inbound/../..',
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (let n = 1; n <= 5; n++) assert.equal(existsSync(stolen(n)), false, `get #${n} must fail`);

  // Raw requests a scripted client could send: relative, climbing and odd paths.
  const { client, sftp: raw } = await connect(acme);
  try {
    assert.equal(await call<string>((cb) => raw.realpath('../../..', cb)), '/');
    assert.equal(await call<string>((cb) => raw.realpath('.', cb)), '/');
    assert.equal(await call<string>((cb) => raw.realpath('inbound/../../archive/./x', cb)), '/archive/x');
    for (const path of [
      '../inbound/globex/secret.csv',
      '../../../globex/secret.csv',
      'inbound/../../globex/secret.csv',
    ]) {
      assert.equal(await statusOf(call((cb) => raw.stat(path, cb))), NO_SUCH_FILE, path);
      assert.equal(await statusOf(call((cb) => raw.open(path, 'r', cb))), NO_SUCH_FILE, path);
    }
    const names = await call<{ filename: string }[]>((cb) => raw.readdir('../../', cb));
    assert.deepEqual(names.map((n) => n.filename).sort(), ['archive', 'inbound', 'outbound']);
  } finally {
    client.end();
  }

  const afterward = await allObjects();
  for (const [key, body] of before) {
    if (key.startsWith('inbound/globex/') || key.startsWith('archive/globex/')) {
      assert.equal(afterward.get(key), body, `${key} untouched`);
    }
  }
  for (const key of afterward.keys()) {
    // A kept version (the local bucket is versioned) belongs where its key does.
    const where = keyOfVersion(key);
    if (!before.has(key))
      assert.match(where, /^(inbound|archive|outbound)\/acme\//, `${key} is inside acme's prefixes`);
  }
  for (const key of created.slice(createdBefore)) assert.match(key, /^(inbound|archive|outbound)\/acme\//, key);
  // What looked like globex paths ended up as acme's own files, e.g. /inbound/globex/x.csv.
  assert.equal((await getObject('inbound/acme/globex/x.csv'))?.toString(), 'acme was here\n');
  assert.deepEqual(
    output(r.stdout).map((l) => l.replace(/^.*\//, '')),
    ['archive', 'inbound', 'outbound'],
    '/inbound/../.. is the home',
  );
  const outbound = await sftp(acme, ['ls -1 /archive/../../outbound', 'ls -1 /outbound']);
  assert.equal(outbound.code, 0, outbound.stderr);
  const [climbed, direct] = outbound.stdout.split('sftp> ls -1 /outbound');
  assert.deepEqual(
    output(climbed ?? '').map((l) => l.replace(/^.*\//, '')),
    output(direct ?? '').map((l) => l.replace(/^.*\//, '')),
  );
  assert.doesNotMatch(outbound.stdout, /secret|globex/);
});

test('writes at / are refused', T, async () => {
  const probe = localFile('root.csv', 'x\n');
  const before = created.length;
  for (const command of [`put ${probe} /root.csv`, `put ${probe}`, 'mkdir /newdir', 'rmdir /inbound', 'rm /inbound']) {
    const r = await sftp(acme, [command]);
    assert.notEqual(r.code, 0, command);
    assert.match(r.stderr, /Permission denied|Failure/, command);
  }
  const { client, sftp: raw } = await connect(acme);
  try {
    assert.equal(await statusOf(call((cb) => raw.open('/x.csv', 'w', cb))), PERMISSION_DENIED);
    assert.equal(await statusOf(call((cb) => raw.open('/', 'w', cb))), PERMISSION_DENIED);
    assert.equal(await statusOf(call((cb) => raw.rename('/inbound', '/elsewhere', cb))), PERMISSION_DENIED);
  } finally {
    client.end();
  }
  assert.equal(created.length, before, 'nothing was stored');
});

test('a WinSCP-style upload to .filepart then rename completes; renaming onto an existing name fails', T, async () => {
  const day1 = 'id,name\n1,Day One\n'.repeat(5000);
  const day2 = 'id,name\n2,Day Two\n';
  const one = localFile('day1.csv', day1);
  const two = localFile('day2.csv', day2);
  const name = '/inbound/Daily Import.csv';
  const r = await sftp(acme, [`put ${one} "${name}.filepart"`, `rename "${name}.filepart" "${name}"`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await getObject('inbound/acme/Daily Import.csv'))?.toString(), day1);
  assert.equal(await getObject('inbound/acme/Daily Import.csv.filepart'), undefined);
  assert.deepEqual(await tagsOf('inbound/acme/Daily Import.csv'), {});

  const clash = await sftp(acme, [`put ${two} "${name}.filepart"`, `rename "${name}.filepart" "${name}"`]);
  assert.notEqual(clash.code, 0);
  assert.match(clash.stderr, /Failure/);
  assert.equal((await getObject('inbound/acme/Daily Import.csv'))?.toString(), day1, 'the existing file is intact');
  assert.equal((await getObject('inbound/acme/Daily Import.csv.filepart'))?.toString(), day2);
});

test(
  'a connection cut mid-upload leaves the received part, tagged partial; a complete re-upload is not',
  T,
  async () => {
    const key = 'inbound/acme/cut.csv';
    const { client, sftp: raw } = await connect(acme);
    const handle = await call<Buffer>((cb) => raw.open('/inbound/cut.csv', 'w', cb));
    const part = Buffer.from('id,name\n1,first\n2,sec');
    await call((cb) => raw.write(handle, part, 0, part.length, 0, cb));
    client.destroy();

    const entry = await until('partial_close log', () =>
      logs.find((l) => l.event === 'partial_close' && l.key === key),
    );
    assert.equal(entry.bytes, part.length);
    assert.equal((await getObject(key))?.toString(), part.toString());
    assert.deepEqual(await tagsOf(key), { 'integrator-upload': 'partial' });

    const full = localFile('cut.csv', 'id,name\n1,first\n2,second\n');
    const r = await sftp(acme, [`put ${full} /inbound/cut.csv`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await getObject(key))?.toString(), 'id,name\n1,first\n2,second\n');
    assert.deepEqual(await tagsOf(key), {}, 'the complete upload does not inherit the partial tag');

    // A partial file renamed (WinSCP's temp name) stays partial under its new name.
    const c2 = await connect(acme);
    const h2 = await call<Buffer>((cb) => c2.sftp.open('/inbound/next.csv.filepart', 'w', cb));
    await call((cb) => c2.sftp.write(h2, part, 0, part.length, 0, cb));
    c2.client.destroy();
    await until('second partial', () =>
      logs.find((l) => l.event === 'partial_close' && l.path === '/inbound/next.csv.filepart'),
    );
    const mv = await sftp(acme, ['rename /inbound/next.csv.filepart /inbound/next.csv']);
    assert.equal(mv.code, 0, mv.stderr);
    assert.deepEqual(await tagsOf('inbound/acme/next.csv'), { 'integrator-upload': 'partial' });
  },
);

test(
  "each upload's end is announced as Transfer Family does: Completed after a clean close, Failed after a dropped connection",
  T,
  async () => {
    const key = 'inbound/acme/announced.csv';
    const eventsFor = () => uploadEvents.filter((e) => e.detail['file-path'] === `/${parts.bucket}/${key}`);
    const full = localFile('announced.csv', 'id,name\n1,first\n');
    const r = await sftp(acme, [`put ${full} /inbound/announced.csv`]);
    assert.equal(r.code, 0, r.stderr);
    const [completed] = await until('the completed event', () => (eventsFor().length > 0 ? eventsFor() : undefined));
    assert.equal(completed?.source, 'aws.transfer');
    assert.equal(completed['detail-type'], 'SFTP Server File Upload Completed');
    assert.equal(completed.detail['status-code'], 'COMPLETED');
    assert.equal(completed.detail.bytes, 16);
    assert.equal(completed.detail.username, sftpUserName('acme'));
    assert.equal(completed.detail.protocol, 'SFTP');
    assert.equal(completed.detail['client-ip'], '127.0.0.1');
    const head = await s3.send(new HeadObjectCommand({ Bucket: parts.bucket, Key: key }));
    // Emitted once the object is stored: the event names the stored bytes.
    assert.equal(completed.detail.etag, head.ETag?.replace(/"/g, ''));

    const { client, sftp: raw } = await connect(acme);
    const handle = await call<Buffer>((cb) => raw.open('/inbound/announced.csv', 'w', cb));
    const part = Buffer.from('id,name\n1,fi');
    await call((cb) => raw.write(handle, part, 0, part.length, 0, cb));
    client.destroy();
    const [, failed] = await until('the failed event', () => (eventsFor().length > 1 ? eventsFor() : undefined));
    assert.equal(failed?.['detail-type'], 'SFTP Server File Upload Failed');
    assert.equal(failed.detail['status-code'], 'FAILED');
    assert.equal(failed.detail['failure-code'], 'PARTIAL_UPLOAD');
    assert.equal(failed.detail.bytes, part.length);
    assert.notEqual(failed.detail['session-id'], completed.detail['session-id']);
    assert.deepEqual(await tagsOf(key), { 'integrator-upload': 'partial' }, 'the object check is kept as well');
  },
);

test('scp uploads work, also over a longer existing file (WRITE|CREAT without TRUNC)', T, async () => {
  const long = localFile('long.csv', 'a'.repeat(100_000));
  const short = localFile('short.csv', 'id\n1\n');
  const first = await runScpUpload({ ...acme, localPaths: [long], remotePath: '/inbound/scp.csv' });
  assert.equal(first.code, 0, first.stderr);
  assert.equal((await getObject('inbound/acme/scp.csv'))?.length, 100_000);
  const second = await runScpUpload({ ...acme, localPaths: [short], remotePath: '/inbound/scp.csv' });
  assert.equal(second.code, 0, second.stderr);
  assert.equal((await getObject('inbound/acme/scp.csv'))?.toString(), 'id\n1\n');
  const denied = await runScpUpload({ ...acme, localPaths: [short], remotePath: '/short.csv' });
  assert.notEqual(denied.code, 0);
});

test('out-of-order writes, directories, remove and unsupported operations', T, async () => {
  const { client, sftp: raw } = await connect(acme);
  try {
    const handle = await call<Buffer>((cb) => raw.open('/inbound/ooo.txt', 'w', cb));
    const tail = Buffer.from('world');
    const head = Buffer.from('hello ');
    await call((cb) => raw.write(handle, tail, 0, tail.length, head.length, cb));
    await call((cb) => raw.write(handle, head, 0, head.length, 0, cb));
    const attrs = await call<{ size: number }>((cb) => raw.fstat(handle, cb));
    assert.equal(attrs.size, 11);
    await call((cb) => raw.close(handle, cb));
    assert.equal((await getObject('inbound/acme/ooo.txt'))?.toString(), 'hello world');

    // Truncation through FSETSTAT, as `put -p`/scp may send.
    const h2 = await call<Buffer>((cb) => raw.open('/inbound/ooo.txt', 'r+', cb));
    await call((cb) => raw.fsetstat(h2, { size: 5 }, cb));
    await call((cb) => raw.close(h2, cb));
    assert.equal((await getObject('inbound/acme/ooo.txt'))?.toString(), 'hello');

    await call((cb) => raw.mkdir('/inbound/sub', cb));
    assert.equal(await statusOf(call((cb) => raw.mkdir('/inbound/sub', cb))), FAILURE);
    assert.ok((await call<{ isDirectory(): boolean }>((cb) => raw.stat('/inbound/sub', cb))).isDirectory());
    const inbound = await call<{ filename: string; longname: string }[]>((cb) => raw.readdir('/inbound', cb));
    assert.match(inbound.find((e) => e.filename === 'sub')?.longname ?? '', /^drwxr-xr-x .* sub$/);
    const h3 = await call<Buffer>((cb) => raw.open('/inbound/sub/deep.csv', 'w', cb));
    await call((cb) => raw.write(h3, head, 0, head.length, 0, cb));
    await call((cb) => raw.close(h3, cb));
    assert.equal((await getObject('inbound/acme/sub/deep.csv'))?.toString(), 'hello ');
    assert.equal(await statusOf(call((cb) => raw.rmdir('/inbound/sub', cb))), FAILURE, 'not empty');
    assert.equal(await statusOf(call((cb) => raw.unlink('/inbound/sub', cb))), FAILURE, 'a directory');
    await call((cb) => raw.unlink('/inbound/sub/deep.csv', cb));
    assert.equal(await getObject('inbound/acme/sub/deep.csv'), undefined);
    await call((cb) => raw.rmdir('/inbound/sub', cb));
    assert.equal(await statusOf(call((cb) => raw.stat('/inbound/sub', cb))), NO_SUCH_FILE);
    assert.equal(await statusOf(call((cb) => raw.unlink('/inbound/none.csv', cb))), NO_SUCH_FILE);
    assert.equal(await statusOf(call((cb) => raw.rename('/inbound/none.csv', '/inbound/x.csv', cb))), NO_SUCH_FILE);

    assert.equal(await statusOf(call((cb) => raw.symlink('/inbound/a', '/inbound/b', cb))), OP_UNSUPPORTED);
    assert.equal(await statusOf(call((cb) => raw.readlink('/inbound/a', cb))), OP_UNSUPPORTED);
    const exclusive = await statusOf(call((cb) => raw.open('/inbound/ooo.txt', 'wx', cb)));
    assert.equal(exclusive, FAILURE, 'O_EXCL on an existing file');
    assert.equal(await statusOf(call((cb) => raw.open('/inbound/none.txt', 'r+', cb))), NO_SUCH_FILE);
  } finally {
    client.end();
  }
});

/** A batch of one command: its exit code and what the client said on stderr. */
async function attempt(target: SshTarget, command: string) {
  const r = await sftp(target, [command]);
  return { code: r.code, stderr: r.stderr };
}

test(
  'archive is read-only: nothing is written, replaced, renamed or removed there, but files download',
  T,
  async () => {
    const day = 'archive/acme/2026-11-24';
    const original = 'id,name\n1,Jane\n';
    const outcome = 'id,name,error\n2,,name is required\n';
    await putObject(`${day}/r1_payroll.csv`, original);
    await putObject(`${day}/r1_payroll.errors.csv`, outcome);
    await putObject('inbound/acme/to-archive.csv', 'id\n3\n');
    const before = await allObjects();
    const createdBefore = created.length;
    const deniedBefore = logs.filter((l) => l.event === 'permission_denied').length;
    const probe = localFile('archive-probe.csv', 'replaced\n');

    for (const command of [
      `put ${probe} /archive/2026-11-24/new.csv`,
      `put ${probe} /archive/2026-11-24/r1_payroll.csv`,
      `put ${probe} /archive/new.csv`,
      'rm /archive/2026-11-24/r1_payroll.errors.csv',
      'rename /archive/2026-11-24/r1_payroll.csv /archive/2026-11-24/renamed.csv',
      'rename /archive/2026-11-24/r1_payroll.csv /inbound/rescued.csv',
      'rename /inbound/to-archive.csv /archive/2026-11-24/smuggled.csv',
      'mkdir /archive/sub',
      'rmdir /archive/2026-11-24',
    ]) {
      const r = await attempt(acme, command);
      assert.notEqual(r.code, 0, command);
      assert.match(r.stderr, /Permission denied/, command);
    }

    // Raw requests: updating, appending, creating and truncating in place are refused as well.
    const { client, sftp: raw } = await connect(acme);
    try {
      for (const flags of ['r+', 'a', 'w', 'wx'] as const) {
        const status = await statusOf(call((cb) => raw.open(`/archive/2026-11-24/r1_payroll.csv`, flags, cb)));
        assert.equal(status, PERMISSION_DENIED, `open ${flags}`);
      }
      const truncate = call((cb) => raw.setstat('/archive/2026-11-24/r1_payroll.csv', { size: 0 }, cb));
      assert.equal(await statusOf(truncate), PERMISSION_DENIED, 'SETSTAT size');
      const handle = await call<Buffer>((cb) => raw.open('/archive/2026-11-24/r1_payroll.csv', 'r', cb));
      assert.equal(await statusOf(call((cb) => raw.fsetstat(handle, { size: 0 }, cb))), PERMISSION_DENIED, 'FSETSTAT');
      await call((cb) => raw.close(handle, cb));
      // Times and modes change nothing in S3 (put -p sends them): accepted, as everywhere.
      await call((cb) => raw.setstat('/archive/2026-11-24/r1_payroll.csv', { mode: 0o600 }, cb));
    } finally {
      client.end();
    }

    const original1 = join(dir, 'archived-original.csv');
    const outcome1 = join(dir, 'archived-outcome.csv');
    const get = await sftp(acme, [
      'cd /archive/2026-11-24',
      `get r1_payroll.csv ${original1}`,
      `get /archive/2026-11-24/r1_payroll.errors.csv ${outcome1}`,
      'ls -1',
    ]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(readFileSync(original1, 'utf8'), original);
    assert.equal(readFileSync(outcome1, 'utf8'), outcome);
    assert.deepEqual(
      output(get.stdout).map((l) => l.replace(/^.*\//, '')),
      ['r1_payroll.csv', 'r1_payroll.errors.csv'],
    );

    assert.deepEqual(await allObjects(), before, 'nothing in the bucket changed');
    assert.equal(created.length, createdBefore, 'nothing was stored');
    const denied = logs.filter((l) => l.event === 'permission_denied').slice(deniedBefore);
    assert.ok(
      denied.some(
        (l) =>
          l.op === 'OPEN' &&
          l.path === '/archive/2026-11-24/new.csv' &&
          l.area === 'archive' &&
          l.permission === 'write' &&
          l.user === acme.username &&
          l.org === 'acme',
      ),
      JSON.stringify(denied),
    );
    for (const [op, permission] of [
      ['REMOVE', 'delete'],
      ['RENAME', 'delete'],
      ['RENAME', 'write'],
      ['MKDIR', 'write'],
      ['RMDIR', 'delete'],
      ['SETSTAT', 'write'],
      ['FSETSTAT', 'write'],
    ]) {
      assert.ok(
        denied.some((l) => l.op === op && l.permission === permission && l.area === 'archive'),
        `${op} ${permission} logged`,
      );
    }
  },
);

test('outbound is fetch-and-delete: downloads and removals work, nothing is uploaded or renamed', T, async () => {
  await putObject('outbound/acme/export-1.csv', 'id\n1\n');
  await putObject('outbound/acme/export-2.csv', 'id\n2\n');
  await putObject('inbound/acme/to-outbound.csv', 'id\n3\n');
  const createdBefore = created.length;
  const probe = localFile('outbound-probe.csv', 'not an export\n');

  for (const command of [
    `put ${probe} /outbound/upload.csv`,
    `put ${probe} /outbound/export-2.csv`,
    'rename /outbound/export-2.csv /outbound/export-2.done.csv',
    'rename /inbound/to-outbound.csv /outbound/to-outbound.csv',
    'mkdir /outbound/sub',
  ]) {
    const r = await attempt(acme, command);
    assert.notEqual(r.code, 0, command);
    assert.match(r.stderr, /Permission denied/, command);
  }
  assert.equal(await getObject('outbound/acme/upload.csv'), undefined);
  assert.equal((await getObject('outbound/acme/export-2.csv'))?.toString(), 'id\n2\n');
  assert.equal(await getObject('outbound/acme/export-2.done.csv'), undefined);
  assert.equal(await getObject('outbound/acme/to-outbound.csv'), undefined);
  assert.equal((await getObject('inbound/acme/to-outbound.csv'))?.toString(), 'id\n3\n');
  assert.equal(created.length, createdBefore, 'nothing was stored');

  const fetched = join(dir, 'export-1.csv');
  const r = await sftp(acme, ['cd /outbound', `get export-1.csv ${fetched}`, 'rm export-1.csv', 'ls -1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(fetched, 'utf8'), 'id\n1\n');
  assert.equal(await getObject('outbound/acme/export-1.csv'), undefined, 'the fetched export is deleted');
  assert.ok(output(r.stdout).some((l) => l.endsWith('export-2.csv')));
  assert.ok(!output(r.stdout).some((l) => l.endsWith('export-1.csv')));
  assert.ok(logs.some((l) => l.event === 'delete' && l.key === 'outbound/acme/export-1.csv'));
  assert.ok(
    logs.some(
      (l) =>
        l.event === 'permission_denied' &&
        l.op === 'OPEN' &&
        l.path === '/outbound/upload.csv' &&
        l.area === 'outbound',
    ),
  );
});

test('inbound stays fully writable: put, replace, rename, mkdir, rm and rmdir', T, async () => {
  const first = localFile('inbound-1.csv', 'id\n1\n');
  const second = localFile('inbound-2.csv', 'id\n2\n');
  const r = await sftp(acme, [
    'cd /inbound',
    `put ${first} perm.csv`,
    `put ${second} perm.csv`,
    'rename perm.csv perm-final.csv',
    'mkdir perm-dir',
    'rmdir perm-dir',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await getObject('inbound/acme/perm-final.csv'))?.toString(), 'id\n2\n');
  assert.equal(await getObject('inbound/acme/perm.csv'), undefined);
  const rm = await sftp(acme, ['rm /inbound/perm-final.csv']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(await getObject('inbound/acme/perm-final.csv'), undefined);
  assert.ok(!logs.some((l) => l.event === 'permission_denied' && l.area === 'inbound'));
});

test('organizations added while running can log in; the host key survives a restart', T, async () => {
  const pair = await generateKeyPair(join(dir, 'keys'), 'initech');
  const initech = { ...acme, username: sftpUserName('initech'), privateKeyPath: pair.privateKeyPath };
  assert.notEqual((await sftp(initech, ['pwd'])).code, 0);
  users.push({ username: initech.username, org: 'initech', publicKeys: [pair.publicKey] });
  const file = localFile('initech.csv', 'id\n7\n');
  const r = await sftp(initech, [`put ${file} /inbound/initech.csv`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await getObject('inbound/initech/initech.csv'))?.toString(), 'id\n7\n');

  const keyBefore = readFileSync(hostKeyPath);
  const second = await startSftpServer({ hostKeyPath, users, s3, bucket: parts.bucket });
  try {
    assert.deepEqual(readFileSync(hostKeyPath), keyBefore);
    const seen: Buffer[] = [];
    for (const port of [server.port, second.port]) {
      const client = new Client();
      await new Promise<void>((resolve, reject) => {
        client
          .on('ready', () => resolve())
          .on('error', reject)
          .connect({
            host: '127.0.0.1',
            port,
            username: acme.username,
            privateKey: readFileSync(acme.privateKeyPath),
            readyTimeout: 5_000,
            hostVerifier: (key: Buffer) => {
              seen.push(key);
              return true;
            },
          });
      });
      client.end();
    }
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[0], seen[1], 'same host key on both servers');

    // Stopping the server with an upload still open stores it as partial, like a dropped connection.
    const open = await connect({ ...acme, port: second.port });
    const handle = await call<Buffer>((cb) => open.sftp.open('/inbound/at-stop.csv', 'w', cb));
    await call((cb) => open.sftp.write(handle, Buffer.from('id\n1\n'), 0, 5, 0, cb));
    open.client.on('error', () => undefined);
    await second.stop();
    open.client.end();
    assert.equal((await getObject('inbound/acme/at-stop.csv'))?.toString(), 'id\n1\n');
    assert.deepEqual(await tagsOf('inbound/acme/at-stop.csv'), { 'integrator-upload': 'partial' });
  } finally {
    await second.stop();
  }
});

test('no request failed unexpectedly during these tests', () => {
  const unexpected = logs.filter((l) => l.event === 'request_failed' || l.event === 'upload_failed');
  assert.deepEqual(unexpected, []);
});
