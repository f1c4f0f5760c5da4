import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { repoPath } from '../../lib/aws/paths.ts';
import { readSettings } from '../../lib/aws/settings.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+NtynIufFPrWfWK1RD9ncB3sS29RFcFnqrH6XHUkSx test';
const ORGS = [{ id: 'acme', name: 'Acme', sshPublicKeys: [KEY], allowedRecords: 5 }];
const dir = mkdtempSync(join(tmpdir(), 'integrator-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const settingsOf = (context: Record<string, unknown>, cwd = dir) => readSettings(new App({ context }).node, cwd);

test("cdk.json's context is valid and names no organization: a plain deploy creates no example one", () => {
  const { context } = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8'));
  assert.equal(context.organizations, undefined);
  const settings = settingsOf(context, repoPath(''));
  assert.equal(settings.stackName, 'Integrator');
  assert.equal(settings.alarmEmail, undefined);
  assert.deepEqual(settings.organizations, []);
});

test('the example organization file parses (to be copied, never deployed as it is)', () => {
  const example = settingsOf({ organizations: 'config/organizations.example.json' }, repoPath('')).organizations;
  assert.equal(example.length, 1);
  assert.match(example[0]!.sshPublicKeys[0]!, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI/);
});

test('organizations as a JSON list, as a JSON string (-c on the command line), or as a file path', () => {
  assert.deepEqual(settingsOf({ organizations: ORGS }).organizations, ORGS);
  assert.deepEqual(settingsOf({ organizations: JSON.stringify(ORGS) }).organizations, ORGS);
  writeFileSync(join(dir, 'orgs.json'), JSON.stringify(ORGS));
  assert.deepEqual(settingsOf({ organizations: 'orgs.json' }).organizations, ORGS);
  assert.deepEqual(settingsOf({ organizations: join(dir, 'orgs.json') }, '/').organizations, ORGS);
});

test('clear messages for a missing, unreadable or invalid organizations value', () => {
  assert.throws(() => settingsOf({ organizations: 'absent.json' }), /cannot read .*absent\.json/);
  writeFileSync(join(dir, 'broken.json'), '[{');
  assert.throws(() => settingsOf({ organizations: 'broken.json' }), /broken\.json: not valid JSON/);
  assert.throws(() => settingsOf({ organizations: [{ id: 'Bad Id' }] }), /\[0\]\.id: "Bad Id" is not a valid/);
  assert.throws(
    () => settingsOf({ organizations: [{ id: 'acme', sshPublicKeys: ['not a key'] }] }),
    /sshPublicKeys\[0\]: SSH key type "not" is not accepted/,
  );
});

test('alarmEmail and stackName are checked; an empty alarmEmail means none', () => {
  assert.equal(settingsOf({ organizations: ORGS, alarmEmail: '' }).alarmEmail, undefined);
  assert.equal(settingsOf({ organizations: ORGS, alarmEmail: 'ops@example.com' }).alarmEmail, 'ops@example.com');
  assert.throws(() => settingsOf({ organizations: ORGS, alarmEmail: 'ops' }), /context "alarmEmail"/);
  assert.equal(settingsOf({ organizations: ORGS, stackName: 'Integrator-prod' }).stackName, 'Integrator-prod');
  assert.throws(() => settingsOf({ organizations: ORGS, stackName: 'no spaces' }), /context "stackName"/);
});

test('bin/app.ts stops with the message, not a stack trace, when the context is wrong', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', repoPath('bin/app.ts')], {
    cwd: repoPath(''),
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ organizations: 'config/absent.json' }) },
    encoding: 'utf8',
  });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /^Integrator: context "organizations": cannot read .*config\/absent\.json/m);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});
