import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Event } from 'aws-lambda';
import { s3Client } from '../../functions/adapters/aws-clients.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
before(async () => {
  parts = await startLocalParts({ dynamodb: false });
});
after(() => parts.stop());

// s3rver stored the SDK's aws-chunked framing inside streamed objects under default checksum settings; the client
// factory turns those checksums off for the local endpoint. These bytes must come back exactly.
test('streamed and multipart uploads round-trip byte for byte through the local S3 server', async () => {
  const s3 = s3Client(parts.config);
  const payload = randomBytes(5 * 1024 * 1024 + 123);
  await s3.send(
    new PutObjectCommand({
      Bucket: parts.bucket,
      Key: 'inbound/acme/stream.bin',
      Body: Readable.from([payload]),
      ContentLength: payload.length,
    }),
  );
  await new Upload({
    client: s3,
    params: { Bucket: parts.bucket, Key: 'inbound/acme/multi.bin', Body: Readable.from([payload, payload]) },
  }).done();
  const one = await (
    await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: 'inbound/acme/stream.bin' }))
  ).Body!.transformToByteArray();
  const two = await (
    await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: 'inbound/acme/multi.bin' }))
  ).Body!.transformToByteArray();
  assert.equal(Buffer.compare(Buffer.from(one), payload), 0);
  assert.equal(Buffer.compare(Buffer.from(two), Buffer.concat([payload, payload])), 0);
});

test('object events reach listeners in the AWS shape, with the key URL-encoded', async () => {
  const s3 = s3Client(parts.config);
  const seen: S3Event[] = [];
  parts.s3.onEvent((e) => seen.push(e));
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: 'inbound/acme/Payroll Q1 (1).csv', Body: 'a,b\n' }));
  const record = seen.flatMap((e) => e.Records).find((r) => r.eventName.startsWith('ObjectCreated:'));
  assert.ok(record, 'an ObjectCreated event was emitted');
  assert.equal(record.s3.object.key, 'inbound/acme/Payroll+Q1+%281%29.csv');
  assert.equal(record.s3.bucket.name, parts.bucket);
});
