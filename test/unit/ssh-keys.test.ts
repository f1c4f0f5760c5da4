import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MAX_SSH_KEY_LENGTH, parseSshPublicKey } from '../../functions/core/ssh-keys.ts';

// Keys made by OpenSSH's own ssh-keygen, as a customer makes them.
const dir = mkdtempSync(join(tmpdir(), 'ssh-keys-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function keygen(name: string, ...args: string[]): { line: string; fingerprint: string } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@test`, '-f', file, ...args]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' });
  return { line: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint: fingerprint.split(' ')[1]! };
}

test('ed25519, ECDSA (256, 384, 521) and RSA of 2048+ bits are accepted, with the fingerprint ssh-keygen prints', () => {
  for (const [name, args, type, bits] of [
    ['ed', ['-t', 'ed25519'], 'ssh-ed25519', 256],
    ['ec256', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256', 256],
    ['ec384', ['-t', 'ecdsa', '-b', '384'], 'ecdsa-sha2-nistp384', 384],
    ['ec521', ['-t', 'ecdsa', '-b', '521'], 'ecdsa-sha2-nistp521', 521],
    ['rsa2048', ['-t', 'rsa', '-b', '2048'], 'ssh-rsa', 2048],
    ['rsa4096', ['-t', 'rsa', '-b', '4096'], 'ssh-rsa', 4096],
  ] as const) {
    const { line, fingerprint } = keygen(name, ...args);
    const checked = parseSshPublicKey(`  ${line}\n`);
    assert.ok(checked.ok, `${name}: ${JSON.stringify(checked)}`);
    assert.equal(checked.key.type, type);
    assert.equal(checked.key.bits, bits);
    assert.equal(checked.key.fingerprint, fingerprint, name);
    assert.equal(checked.key.body, line);
    assert.equal(checked.key.comment, `${name}@test`);
  }
});

test('RSA below 2048 bits is refused, naming the rule and the size', () => {
  const { line } = keygen('rsa1024', '-t', 'rsa', '-b', '1024');
  const checked = parseSshPublicKey(line);
  assert.ok(!checked.ok);
  assert.equal(checked.problem.code, 'ssh_key_rsa_too_short');
  assert.equal(checked.problem.rule, 'ssh-rsa >= 2048 bits');
  assert.match(checked.problem.message, /1024 bits; RSA keys need at least 2048/);
});

test('DSA is refused as DSA', () => {
  const { line } = keygen('dsa', '-t', 'dsa');
  const checked = parseSshPublicKey(line);
  assert.ok(!checked.ok);
  assert.equal(checked.problem.code, 'ssh_key_dsa');
  assert.match(checked.problem.message, /DSA keys \(ssh-dss\) are refused/);
});

test('malformed keys are refused with what is wrong', () => {
  const { line } = keygen('ed2', '-t', 'ed25519');
  const [type, blob] = line.split(' ') as [string, string];
  const cases: [unknown, string, RegExp][] = [
    ['', 'ssh_key_malformed', /expected a line/],
    [42, 'ssh_key_malformed', /expected a line/],
    ['ssh-ed25519', 'ssh_key_malformed', /not base64/],
    [`${type} ${blob.slice(0, -4)}`, 'ssh_key_malformed', /32 bytes/],
    [`${type} not*base64`, 'ssh_key_malformed', /not base64/],
    [`ssh-rsa ${blob}`, 'ssh_key_malformed', /says "ssh-ed25519" but the line says "ssh-rsa"/],
    [`${line}\n${line}`, 'ssh_key_malformed', /exactly one line/],
    // The private half pasted by mistake (made just now by ssh-keygen, never stored in the repository).
    [readFileSync(join(dir, 'ed2'), 'utf8'), 'ssh_key_malformed', /PRIVATE key: keep it secret/],
    [`---- BEGIN SSH2 PUBLIC KEY ----\n${blob}\n---- END SSH2 PUBLIC KEY ----`, 'ssh_key_malformed', /PEM or SSH2/],
    [`${line} ${'x'.repeat(MAX_SSH_KEY_LENGTH)}`, 'ssh_key_malformed', /at most 2048/],
    [`sk-ssh-ed25519@openssh.com ${blob}`, 'ssh_key_type_unsupported', /is not accepted/],
  ];
  for (const [input, code, message] of cases) {
    const checked = parseSshPublicKey(input);
    const what = String(input).slice(0, 40);
    assert.ok(!checked.ok, what);
    assert.equal(checked.problem.code, code, what);
    assert.match(checked.problem.message, message, what);
    assert.ok(checked.problem.rule, 'every refusal names its rule');
  }
});
