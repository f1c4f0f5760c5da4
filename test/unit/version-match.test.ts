import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notAfterSlack, sameEtag } from '../../functions/core/version-match.ts';

test('ETags match with or without their surrounding quotes, and only the same ETag', () => {
  assert.equal(sameEtag('"abc"', 'abc'), true);
  assert.equal(sameEtag('abc', '"abc"'), true);
  assert.equal(sameEtag('"abc"', '"abd"'), false);
  assert.equal(sameEtag('"abc-2"', 'abc'), false);
});

test('a version stamped up to one second after the upload end still fits (1-second LastModified resolution)', () => {
  const end = new Date('2026-12-01T10:00:00.700Z');
  assert.equal(notAfterSlack(new Date('2026-12-01T10:00:01.700Z'), end), true);
  assert.equal(notAfterSlack(new Date('2026-12-01T10:00:01.701Z'), end), false);
  assert.equal(notAfterSlack(new Date('2026-12-01T09:59:59Z'), end), true);
  assert.equal(notAfterSlack(new Date('2026-12-01T10:05:00Z'), undefined), true);
});
