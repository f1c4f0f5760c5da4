/**
 * Bad files, uploaded over SFTP (OpenSSH's sftp) to the twin started as `npm start` starts it, as issue 11 names them:
 * a 100 KB employee id, a 250,000-character CJK cell in a row with a wrong cell count, a 200 KB header of repeated
 * names, 40,000 columns, passport numbers in rows whose cells do not line up, a UTF-8 file with a few invalid bytes,
 * and an unassigned country code. Each ends as an Interrupted or Incomplete run that says why, is archived with its
 * outcome (`.errors.csv` where rows failed), no passport number appears in an API answer or an outcome file, and
 * nothing is left `running` or in inbound.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { putJob } from '../../functions/adapters/dynamodb-jobs.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';
import { storedRecords } from '../support/twin-records.ts';

let stateDir: string;
let filesDir: string;
let twin: TwinProcess;

type Run = Record<string, unknown> & {
  runId: string;
  status: string;
  file: { name: string };
  message?: string;
  problem?: { code: string; message: string };
  archivedKey?: string;
  outcomeKey?: string;
  counts: Record<string, number>;
};

const PROFILE_HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';
const profileRow = (id: string, first = 'Ana', country = 'BR') =>
  `${id},${first},Silva,,${id.toLowerCase().slice(0, 12)}@example.com,R&D,Engineer,2024-02-29,Berlin,boss@example.com,${country},Active`;
const PASSPORT_HEADER =
  'Employee ID,Passport Record ID,Passport Number,Issuing Country,Nationality,Issue Date,Expiry Date,Place of Issue,Primary Passport';
const PLANTED = ['X12345678', 'Y87654321', 'Z11223344', 'W99887766'];

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const lines = (...rows: string[]) => `${rows.join('\r\n')}\r\n`;

/** The bad files of issue 11, each with what its run must say. */
const FILES: { name: string; body: Buffer; status: 'incomplete' | 'interrupted'; says: RegExp; outcome: boolean }[] = [
  {
    name: 'fn_profile_import_20261201.csv',
    body: utf8(lines(PROFILE_HEADER, profileRow('E1'), profileRow('E'.repeat(100_000)), profileRow('E3'))),
    status: 'incomplete',
    says: /row 3, column 1 \(A\) "Employee ID": the cell holds 100,000 bytes/,
    outcome: true,
  },
  {
    name: 'fn_profile_import_20261202.csv',
    body: utf8(lines(PROFILE_HEADER, profileRow('E4'), `E5,${'漢'.repeat(250_000)},extra,${profileRow('x').slice(2)}`)),
    status: 'incomplete',
    says: /row 3: expected 12 cells, found 14/,
    outcome: true,
  },
  {
    name: 'fn_profile_import_20261203.csv',
    body: utf8(lines(Array.from({ length: 200_000 / 12 }, () => 'Employee ID').join(','), 'E1')),
    status: 'interrupted',
    says: /the header has 16,666 columns; a file may have at most 1,000/,
    outcome: false,
  },
  {
    name: 'fn_profile_import_20261204.csv',
    body: utf8(lines(Array.from({ length: 900 }, () => 'Employee ID').join(','), 'E1')),
    status: 'interrupted',
    says: /"Employee ID" at column 2 \(B\) repeats "Employee ID" at column 1 \(A\).*; and 889 more repeated names/,
    outcome: false,
  },
  {
    name: 'fn_profile_import_20261205.csv',
    body: utf8(
      lines(`${PROFILE_HEADER},${Array.from({ length: 40_000 }, (_, i) => `Extra ${i}`).join(',')}`, profileRow('E1')),
    ),
    status: 'interrupted',
    says: /the header has 40,012 columns/,
    outcome: false,
  },
  {
    name: 'fn_profile_import_20261206.csv',
    // UTF-8 but for one byte (E9, Windows-1252's é) in row 2, before any valid multi-byte character.
    body: Buffer.concat([
      utf8(`${PROFILE_HEADER}\r\n`),
      utf8(profileRow('U1', 'Ren')).subarray(0, 6),
      Buffer.from([0xe9]),
      utf8(
        `${profileRow('U1', 'Ren').slice(6)}\r\n${profileRow('U2', 'René')}\r\n${profileRow('U3', 'Zoë', 'XX')}\r\n`,
      ),
    ]),
    status: 'incomplete',
    says: /row 2, column 2 \(B\) "First Name": the byte 0xE9 at byte offset 145 is not valid UTF-8/,
    outcome: true,
  },
  {
    name: 'fn_passport_import_20261201.csv',
    body: utf8(
      lines(
        PASSPORT_HEADER,
        'P1,R1,P0000001,DE,DE,2020-01-01,2030-01-01,Berlin,Yes',
        `P2,R2,x,${PLANTED[0]},DE,DE,2020-01-01,2030-01-01,Bonn,Yes`,
        `P3,${PLANTED[1]},DE,DE,2020-01-01,2030-01-01,Bonn,Yes`,
        `P4,R4,${PLANTED[2]},DE,DE,2020-01-01,2030-01-01,"Frankfurt, am Main",Yes,`,
        `P5,R5,${PLANTED[3]},XX,DE,2020-01-01,2030-01-01,Bonn,Yes`,
      ),
    ),
    status: 'incomplete',
    says: /4 failed/,
    outcome: true,
  },
];

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'integrator-e2e-bad-'));
  filesDir = join(stateDir, 'upload');
  mkdirSync(join(stateDir, 'keys'), { recursive: true });
  mkdirSync(filesDir, { recursive: true });
  const pair = await generateKeyPair(join(stateDir, 'keys'), 'acme');
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: 'acme', name: 'acme', sshPublicKeys: [pair.publicKey], allowedRecords: 1000 }]),
  );
  twin = await startTwinProcess(stateDir);
  const db = dynamoDbDocumentClient({
    region: twin.info.dynamodb.region,
    dynamodbEndpoint: twin.info.dynamodb.endpoint,
  });
  await putJob(db, defaultImportJob('acme', 'fn_passport_import', 'passport-import'), { table: 'Jobs' });
  for (const f of FILES) writeFileSync(join(filesDir, f.name), f.body);
});

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function sftp(commands: string[]) {
  const user = twin.info.sftp.users.find((u) => u.org === 'acme');
  assert.ok(user);
  return runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    commands,
    timeoutMs: 60_000,
  });
}

async function api(path: string): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const res = await fetch(`${twin.info.api.url}${path}`, {
    headers: { authorization: `Bearer ${twin.info.api.tokens.acme}` },
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

async function allRuns(): Promise<Run[]> {
  const runs: Run[] = [];
  let next: string | null = null;
  do {
    const { body } = await api(`/v1/runs${next ? `?cursor=${encodeURIComponent(next)}` : ''}`);
    runs.push(...(body.runs as Run[]));
    next = (body.next as string | null) ?? null;
  } while (next);
  return runs;
}

test('each bad file uploaded over SFTP ends Interrupted or Incomplete, says why, and is archived with its outcome', async () => {
  const upload = await sftp(FILES.map((f) => `put ${join(filesDir, f.name)} /inbound/${f.name}`));
  assert.equal(upload.code, 0, upload.stderr);

  const deadline = Date.now() + 120_000;
  let runs: Run[] = [];
  for (;;) {
    runs = await allRuns();
    if (FILES.every((f) => runs.some((r) => r.file.name === f.name && r.status !== 'running'))) break;
    if (Date.now() > deadline)
      assert.fail(
        `not every file finished:\n${JSON.stringify(runs.map((r) => [r.file.name, r.status]))}\n${twin.output().slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual(
    runs.filter((r) => r.status === 'running').map((r) => r.file.name),
    [],
    'nothing is left running',
  );

  for (const f of FILES) {
    const run = runs.find((r) => r.file.name === f.name)!;
    assert.equal(run.status, f.status, `${f.name}: ${run.message}`);
    const { body } = await api(`/v1/runs/${run.runId}/errors`);
    const said = [
      run.message ?? '',
      ...(body.errors as { problems: { message: string }[] }[]).flatMap((e) => e.problems.map((p) => p.message)),
    ];
    assert.ok(
      said.some((m) => f.says.test(m)),
      `${f.name} says ${f.says}; it said:\n${said.join('\n').slice(0, 2000)}`,
    );
    assert.ok(run.archivedKey, `${f.name} archived`);
    assert.equal(Boolean(run.outcomeKey), f.outcome, `${f.name}: outcome file`);
  }

  // Archived over SFTP: the original (and the outcome file where rows failed) in the run's archive folder.
  const days = new Set(
    runs.map((r) =>
      String(r.archivedKey)
        .replace(/^archive\/acme\//, '/archive/')
        .replace(/\/[^/]+$/, ''),
    ),
  );
  const listing = await sftp([...days].map((d) => `ls -1 ${d}`));
  assert.equal(listing.code, 0, listing.stderr);
  for (const run of runs) {
    assert.ok(listing.stdout.includes(`${run.runId}_${run.file.name}`), `${run.file.name} in the archive`);
    if (run.outcomeKey)
      assert.ok(listing.stdout.includes(`${run.runId}_${run.file.name.replace(/\.csv$/, '.errors.csv')}`));
  }
  const inbound = await sftp(['ls -1 /inbound']);
  assert.deepEqual(
    inbound.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('sftp>')),
    [],
    'nothing is left in inbound',
  );
});

test('the UTF-8 file with an invalid byte is read as UTF-8: René stays René, the bad row is the only error', async () => {
  const records = { Items: await storedRecords(twin.info, 'acme') };
  const byKey = new Map((records.Items ?? []).map((r) => [r.recordKey as string, r]));
  assert.equal(byKey.get('U2')?.firstName, 'René');
  assert.equal(byKey.has('U1'), false, 'the row with the invalid byte was not applied');
  assert.equal(byKey.has('U3'), false, 'XX is not a country');
  const run = (await allRuns()).find((r) => r.file.name === 'fn_profile_import_20261206.csv')!;
  assert.equal(run.encoding, 'utf-8');
  const { body } = await api(`/v1/runs/${run.runId}/errors`);
  const codes = (body.errors as { row: number; problems: { code: string }[] }[]).map((e) => [
    e.row,
    e.problems[0]?.code,
  ]);
  assert.deepEqual(codes, [
    [2, 'invalid_encoding'],
    [4, 'invalid_country'],
  ]);
});

test('no passport number planted in a malformed row appears in an API answer or the outcome file', async () => {
  const run = (await allRuns()).find((r) => r.file.name === 'fn_passport_import_20261201.csv')!;
  const answers = [
    (await api('/v1/runs')).text,
    (await api(`/v1/runs/${run.runId}`)).text,
    (await api(`/v1/runs/${run.runId}/errors`)).text,
  ];
  const local = join(filesDir, 'outcome.csv');
  const got = await sftp([`get ${String(run.outcomeKey).replace(/^archive\/acme\//, '/archive/')} ${local}`]);
  assert.equal(got.code, 0, got.stderr);
  const outcome = readFileSync(local, 'utf8');
  assert.match(outcome, /\*\*\*\*78/, 'the outcome file shows the masked cells');
  for (const number of PLANTED) {
    for (const part of [number, number.slice(1), number.slice(0, -2)]) {
      for (const answer of answers) assert.ok(!answer.includes(part), `${part} in an API answer`);
      assert.ok(!outcome.includes(part), `${part} in the outcome file`);
    }
  }
  const logs = twin.output();
  for (const number of PLANTED) assert.ok(!logs.includes(number), `${number} in the logs`);
});
