import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNotification } from '../../functions/core/transfer/s3-events.ts';
import { keyOfFilePath } from '../../functions/core/transfer/transfer-events.ts';
import { uploadEvent } from '../../lib/local/sftp/upload-events.ts';

const ended = {
  bucket: 'integrator-local',
  key: 'inbound/acme/Payroll Q1 (1).csv',
  bytes: 42,
  etag: '"abc123"',
  username: 'org-acme',
  sessionId: 'sess-1',
  clientIp: '127.0.0.1',
  startedAt: new Date('2026-12-01T10:00:00Z'),
  endedAt: new Date('2026-12-01T10:00:05Z'),
};

test("a completed upload event (the twin's, in Transfer Family's shape) is an arrival of its key, not URL-decoded", () => {
  const event = uploadEvent({ ...ended, outcome: 'complete' });
  assert.equal(event.source, 'aws.transfer');
  assert.equal(event['detail-type'], 'SFTP Server File Upload Completed');
  assert.equal(event.detail['file-path'], '/integrator-local/inbound/acme/Payroll Q1 (1).csv');
  assert.equal(event.detail.etag, 'abc123');
  assert.deepEqual(parseNotification(JSON.stringify(event)), {
    kind: 'arrivals',
    arrivals: [
      {
        eventName: 'ObjectCreated:SftpUploadCompleted',
        key: 'inbound/acme/Payroll Q1 (1).csv',
        etag: 'abc123',
        size: 42,
        requestId: 'sess-1',
        // With the ETag, the end of the upload picks the version the event means (FileStore.versionOf).
        endedAt: event.detail['end-timestamp'],
      },
    ],
  });
});

test('a failed upload event is an arrival marked partial; other Transfer events give none; a bad path is unreadable', () => {
  const failed = uploadEvent({ ...ended, outcome: 'partial', failureMessage: 'connection dropped' });
  assert.equal(failed['detail-type'], 'SFTP Server File Upload Failed');
  assert.equal(failed.detail['status-code'], 'FAILED');
  assert.equal(failed.detail['failure-code'], 'PARTIAL_UPLOAD');
  const parsed = parseNotification(JSON.stringify(failed));
  assert.equal(parsed.kind === 'arrivals' && parsed.arrivals[0]?.partial, true);
  assert.equal(parsed.kind === 'arrivals' && parsed.arrivals[0]?.eventName, 'ObjectCreated:SftpUploadFailed');

  const download = { source: 'aws.transfer', 'detail-type': 'SFTP Server File Download Completed', detail: {} };
  assert.deepEqual(parseNotification(JSON.stringify(download)), { kind: 'arrivals', arrivals: [] });
  const noPath = { ...failed, detail: { ...failed.detail, 'file-path': 'no-leading-slash' } };
  assert.equal(parseNotification(JSON.stringify(noPath)).kind, 'unreadable');
  assert.equal(keyOfFilePath('/bucket/inbound/a/b.csv'), 'inbound/a/b.csv');
  assert.equal(keyOfFilePath('/bucket'), undefined);
});
