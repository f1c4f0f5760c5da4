/**
 * The events AWS Transfer Family publishes to the default EventBridge bus when an upload ends, emitted by the twin's
 * SFTP server in the same shape (functions/core/transfer/transfer-events.ts): `SFTP Server File Upload Completed`
 * when the client closed the file and every write landed, `SFTP Server File Upload Failed` (PARTIAL_UPLOAD) when the
 * connection dropped or the session ended with the file still open, or a write failed. As in AWS they are best-effort:
 * a crash between storing the object and emitting loses the event (the object check, its partial tag, still holds).
 */
import { randomUUID } from 'node:crypto';
import {
  TRANSFER_SOURCE,
  type TransferUploadEvent,
  UPLOAD_COMPLETED,
  UPLOAD_FAILED,
} from '../../../functions/core/transfer/transfer-events.ts';

/** The twin's stand-ins for what AWS fills in. */
export const LOCAL_SERVER_ID = 's-local0000000000';
const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'us-east-1';

export type UploadEventSink = (event: TransferUploadEvent) => void;

export interface UploadEnded {
  outcome: 'complete' | 'partial';
  bucket: string;
  key: string;
  bytes: number;
  etag?: string;
  username: string;
  sessionId: string;
  clientIp: string;
  startedAt: Date;
  endedAt: Date;
  /** Why a partial upload failed, in words. */
  failureMessage?: string;
}

export function uploadEvent(upload: UploadEnded): TransferUploadEvent {
  const completed = upload.outcome === 'complete';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': completed ? UPLOAD_COMPLETED : UPLOAD_FAILED,
    source: TRANSFER_SOURCE,
    account: LOCAL_ACCOUNT,
    time: upload.endedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:transfer:${LOCAL_REGION}:${LOCAL_ACCOUNT}:server/${LOCAL_SERVER_ID}`],
    detail: {
      'status-code': completed ? 'COMPLETED' : 'FAILED',
      ...(completed
        ? {}
        : { 'failure-code': 'PARTIAL_UPLOAD', 'failure-message': upload.failureMessage ?? 'upload not completed' }),
      protocol: 'SFTP',
      bytes: upload.bytes,
      'client-ip': upload.clientIp,
      'file-path': `/${upload.bucket}/${upload.key}`,
      ...(upload.etag ? { etag: upload.etag.replace(/^"|"$/g, '') } : {}),
      'server-id': LOCAL_SERVER_ID,
      username: upload.username,
      'session-id': upload.sessionId,
      'start-timestamp': upload.startedAt.toISOString(),
      'end-timestamp': upload.endedAt.toISOString(),
    },
  };
}
