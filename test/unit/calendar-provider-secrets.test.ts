/**
 * The providers of a deployment in AWS, from their Secrets Manager secrets: a complete OAuth client registers its
 * provider; an empty, malformed or unreadable secret leaves that provider unconfigured with a reason that names the
 * fields but never echoes the secret; the other provider is unaffected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localDataKeys } from '../../functions/adapters/calendar-grant-vault.ts';
import { readOAuthClient, registerProvidersFromSecrets } from '../../functions/adapters/calendar-provider-secrets.ts';
import { calendarProvidersFor } from '../../functions/adapters/calendar-providers.ts';

test('a secret is an OAuth client only with both fields; the problem never shows the value', () => {
  assert.deepEqual(readOAuthClient('{"clientId":" app-1 ","clientSecret":"s3cr3t"}'), {
    ok: true,
    client: { clientId: 'app-1', clientSecret: 's3cr3t' },
  });
  const cases: [string | undefined, RegExp][] = [
    [undefined, /empty/],
    ['  ', /empty/],
    ['not json s3cr3t', /not JSON/],
    ['{"clientId":"","clientSecret":"s3cr3t"}', /no clientId/],
    ['{"clientId":"app"}', /no clientSecret/],
    ['null', /no clientId and no clientSecret/],
  ];
  for (const [text, problem] of cases) {
    const read = readOAuthClient(text);
    assert.equal(read.ok, false, String(text));
    if (!read.ok) {
      assert.match(read.problem, problem);
      assert.ok(!read.problem.includes('s3cr3t'), 'the secret is not echoed');
    }
  }
});

test('complete clients register their providers; the others are reported, not fatal', async () => {
  const asked: string[] = [];
  const registration = await registerProvidersFromSecrets(
    {
      CALENDAR_GOOGLE_SECRET_ARN: 'arn:google',
      CALENDAR_MICROSOFT_SECRET_ARN: 'arn:microsoft',
    },
    async (id) => {
      asked.push(id);
      if (id === 'arn:google') return JSON.stringify({ clientId: 'g-app', clientSecret: 'g-secret' });
      // As the stack creates it: a generated secret, no client id yet.
      return JSON.stringify({ clientId: '', clientSecret: 'generated' });
    },
  );
  assert.deepEqual(asked.sort(), ['arn:google', 'arn:microsoft']);
  assert.deepEqual(registration.registered, ['google']);
  assert.deepEqual(registration.skipped, [{ provider: 'microsoft', problem: 'the secret has no clientId' }]);
  const providers = calendarProvidersFor(
    {} as DynamoDBDocumentClient,
    { TABLE_CALENDAR_GRANTS: 'CalendarGrants' },
    localDataKeys(Buffer.alloc(32, 7)),
  )('acme');
  assert.deepEqual(Object.keys(providers), ['google']);
  // Sign-in goes to Google with the client id from the secret.
  const url = await providers.google!.authorizer.authorizationUrl({
    state: 'st',
    codeChallenge: 'c'.repeat(43),
    redirectUri: 'https://api.example/oauth/calendar/callback',
  } as never);
  assert.match(String(url), /^https:\/\/accounts\.google\.com\//);
  assert.match(String(url), /client_id=g-app/);
});

test('an unreadable secret (access refused) leaves its provider out and says why', async () => {
  const registration = await registerProvidersFromSecrets({ CALENDAR_MICROSOFT_SECRET_ARN: 'arn:m' }, async () => {
    const err = new Error('User is not authorized');
    err.name = 'AccessDeniedException';
    throw err;
  });
  assert.deepEqual(registration.registered, []);
  assert.deepEqual(registration.skipped, [
    { provider: 'microsoft', problem: 'its secret could not be read (AccessDeniedException)' },
  ]);
});
