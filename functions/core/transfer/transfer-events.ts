/**
 * AWS Transfer Family's upload events, as an EventBridge rule delivers them to the import queue (the message body is
 * the event itself): `SFTP Server File Upload Completed` and `SFTP Server File Upload Failed`, source `aws.transfer`.
 * The twin's SFTP server emits the same shape (lib/local/sftp/upload-events.ts).
 *
 * For a server with S3 storage `detail.file-path` is `/<bucket>/<key>`, the key not URL-encoded. A completed upload is
 * an arrival to import; a failed one (the client dropped the connection, a write failed) is an arrival marked
 * partial, so its object version is recorded as partial in the ledger and never imported.
 */
import type { Arrival } from './receive-file.ts';

export const TRANSFER_SOURCE = 'aws.transfer';
export const UPLOAD_COMPLETED = 'SFTP Server File Upload Completed';
export const UPLOAD_FAILED = 'SFTP Server File Upload Failed';

/** The fields of `detail` this project reads or emits (AWS documents a few more, e.g. `failure-message`). */
export interface TransferUploadDetail {
  'status-code': 'COMPLETED' | 'FAILED';
  'failure-code'?: string;
  'failure-message'?: string;
  protocol: string;
  bytes: number;
  'client-ip'?: string;
  'file-path': string;
  etag?: string;
  'server-id': string;
  username: string;
  'session-id': string;
  'start-timestamp'?: string;
  'end-timestamp'?: string;
}

export interface TransferUploadEvent {
  version: '0';
  id: string;
  'detail-type': typeof UPLOAD_COMPLETED | typeof UPLOAD_FAILED;
  source: typeof TRANSFER_SOURCE;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TransferUploadDetail;
}

/** What receiveFile's filter sees for an object an SFTP upload created (complete or not). */
export const UPLOAD_COMPLETED_EVENT_NAME = 'ObjectCreated:SftpUploadCompleted';
export const UPLOAD_FAILED_EVENT_NAME = 'ObjectCreated:SftpUploadFailed';

export type TransferParse = { ok: true; arrivals: Arrival[] } | { ok: false; reason: string };

/** `/bucket/inbound/acme/a b.csv` -> `inbound/acme/a b.csv`. */
export function keyOfFilePath(filePath: string): string | undefined {
  const match = /^\/[^/]+\/(.+)$/.exec(filePath);
  return match?.[1];
}

/** An event of source aws.transfer: the upload events give one arrival each; other Transfer events give none. */
export function parseTransferEvent(event: { 'detail-type'?: unknown; detail?: unknown }): TransferParse {
  const type = event['detail-type'];
  if (type !== UPLOAD_COMPLETED && type !== UPLOAD_FAILED) return { ok: true, arrivals: [] };
  const detail = event.detail as Partial<Record<keyof TransferUploadDetail, unknown>> | undefined;
  const filePath = detail?.['file-path'];
  if (typeof filePath !== 'string') return { ok: false, reason: 'a Transfer Family upload event has no file-path' };
  const key = keyOfFilePath(filePath);
  if (!key) return { ok: false, reason: `the file-path ${filePath} names no object of a bucket` };
  const failed = type === UPLOAD_FAILED || detail?.['status-code'] === 'FAILED';
  const etag = detail?.etag;
  const bytes = detail?.bytes;
  const session = detail?.['session-id'];
  return {
    ok: true,
    arrivals: [
      {
        eventName: failed ? UPLOAD_FAILED_EVENT_NAME : UPLOAD_COMPLETED_EVENT_NAME,
        key,
        ...(typeof etag === 'string' && etag !== '' ? { etag } : {}),
        ...(typeof bytes === 'number' ? { size: bytes } : {}),
        // The SFTP session: what ties the import's log lines to the server's.
        ...(typeof session === 'string' ? { requestId: session } : {}),
        ...(failed ? { partial: true } : {}),
        ...(typeof detail?.['end-timestamp'] === 'string' ? { endedAt: detail['end-timestamp'] } : {}),
      },
    ],
  };
}
