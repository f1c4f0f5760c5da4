import assert from 'node:assert/strict';
import { test } from 'node:test';
import { archiveKey, outcomeKey, sftpPathOf } from '../../functions/core/transfer/layout.ts';

test('a bucket key reads as the path the SFTP user sees; keys of another organization or outside the areas do not', () => {
  const archived = archiveKey(
    'acme',
    '20261124T070102123Z-k3x9qa',
    'fn_profile_import_20261124.csv',
    new Date('2026-11-24T07:01:02Z'),
  );
  assert.equal(archived, 'archive/acme/2026-11-24/20261124T070102123Z-k3x9qa_fn_profile_import_20261124.csv');
  assert.equal(
    sftpPathOf('acme', archived),
    '/archive/2026-11-24/20261124T070102123Z-k3x9qa_fn_profile_import_20261124.csv',
  );
  assert.equal(
    sftpPathOf('acme', outcomeKey(archived)),
    '/archive/2026-11-24/20261124T070102123Z-k3x9qa_fn_profile_import_20261124.errors.csv',
  );
  assert.equal(sftpPathOf('acme', 'inbound/acme/Payroll Q1 (1).csv'), '/inbound/Payroll Q1 (1).csv');
  assert.equal(sftpPathOf('globex', archived), undefined);
  assert.equal(sftpPathOf('acme', 'elsewhere/acme/x.csv'), undefined);
});
