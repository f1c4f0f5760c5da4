/**
 * Partial uploads on the twin, whatever the timing: the queue has no delivery delay, so nothing waits for a tag. A
 * connection dropped mid-upload makes the SFTP server announce `Upload Failed` (as Transfer Family does), which the
 * import records as partial: an Interrupted run, no record written, the file left in inbound. A complete upload of the
 * same name afterwards is imported.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Client, type SFTPWrapper } from 'ssh2';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';
import { storedRecords } from '../support/twin-records.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'integrator-partial-'));
let twin: TwinProcess | undefined;
after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const FILE = 'fn_profile_import_20261201.csv';
const HEADER = 'Employee ID,First Name,Last Name,Email';

function call<T = void>(fn: (cb: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));
}

test('a dropped upload is never imported: Interrupted as partial, nothing written; the complete one is', async () => {
  mkdirSync(join(stateDir, 'keys'), { recursive: true });
  const pair = await generateKeyPair(join(stateDir, 'keys'), 'acme');
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: 'acme', name: 'Acme', sshPublicKeys: [pair.publicKey], allowedRecords: 1000 }]),
  );
  twin = await startTwinProcess(stateDir, { INTEGRATOR_SETTLE_MS: '0' });
  const user = twin.info.sftp.users[0]!;
  const db = dynamoDbDocumentClient({
    region: twin.info.dynamodb.region,
    dynamodbEndpoint: twin.info.dynamodb.endpoint,
  });
  const runs = async () =>
    (
      await db.send(
        new QueryCommand({
          TableName: 'Runs',
          KeyConditionExpression: 'org = :o',
          ExpressionAttributeValues: { ':o': 'acme' },
          ConsistentRead: true,
        }),
      )
    ).Items as Run[];
  const finished = async (count: number) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const done = (await runs()).filter((r) => r.status !== 'running');
      if (done.length >= count) return done;
      if (Date.now() > deadline) assert.fail(`no ${count} finished runs:\n${twin?.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // Half a file, then the connection drops (no CLOSE).
  const client = new Client();
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
    client
      .on('ready', () => client.sftp((error, channel) => (error ? reject(error) : resolve(channel))))
      .on('error', reject)
      .connect({
        host: twin!.info.sftp.host,
        port: twin!.info.sftp.port,
        username: user.username,
        privateKey: readFileSync(user.privateKeyPath),
      });
  });
  const handle = await call<Buffer>((cb) => sftp.open(`/inbound/${FILE}`, 'w', cb));
  const part = Buffer.from(`${HEADER}\r\nE1,Ana,Silva,a@example.com\r\nE2,Bo`);
  await call((cb) => sftp.write(handle, part, 0, part.length, 0, cb));
  client.destroy();

  const [partial] = await finished(1);
  assert.equal(partial?.status, 'interrupted');
  assert.equal(partial.problem?.code, 'partial_upload');
  assert.equal((await storedRecords(twin.info, 'acme')).length, 0, 'no row of the partial upload was written');

  const full = join(stateDir, FILE);
  writeFileSync(full, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\nE2,Bo,Lund,b@example.com\r\n`);
  const upload = await runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    commands: [`put ${full} /inbound/${FILE}`],
  });
  assert.equal(upload.code, 0, upload.stderr);
  const done = await finished(2);
  const complete = done.find((r) => r.runId !== partial.runId);
  assert.equal(complete?.status, 'completed');
  assert.equal(complete.counts.created, 2);
  db.destroy();
});
