/**
 * What the import queue delivers: S3 object notifications, an SQS message body holding `{ Records: [...] }` (directly,
 * or wrapped in an SNS notification), and Transfer Family's upload events from EventBridge (transfer-events.ts). S3
 * keys arrive URL-encoded the way S3 encodes them (a space as `+`); they are decoded here, once, so everything
 * downstream sees the real key.
 */
import type { Arrival } from './receive-file.ts';
import { parseTransferEvent, TRANSFER_SOURCE } from './transfer-events.ts';

export type ParsedMessage =
  | { kind: 'arrivals'; arrivals: Arrival[] }
  /** The s3:TestEvent S3 sends when a notification is configured. */
  | { kind: 'test_event' }
  | { kind: 'unreadable'; reason: string };

/** `Payroll+Q1+%281%29.csv` -> `Payroll Q1 (1).csv`. Throws URIError on a malformed escape. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** The inverse of decodeEventKey, as S3 encodes keys in its notifications (`Payroll Q1 (1).csv` -> `Payroll+Q1+%281%29.csv`). */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}

/**
 * A message announcing one object version as an S3 notification does: what the import sends itself to wake the next
 * file of a lane when a run ends (receive-file.ts `wake`). Parsed like any notification; a duplicate of a real event
 * for the same version is harmless (the ledger claims a version once).
 */
export function arrivalMessage(
  object: { key: string; versionId?: string; etag?: string; fileId?: string },
  /** Who announces it, for logs: `integrator:lane` (a lane's next file), `integrator:sweep` (sweep.ts). */
  eventSource = 'integrator:lane',
): string {
  return JSON.stringify({
    Records: [
      {
        eventSource,
        // The ledger id of a pending file a scheduled or requested run took (receive-file.ts Arrival.fileId).
        ...(object.fileId ? { integrator: { fileId: object.fileId } } : {}),
        eventName: 'ObjectCreated:Put',
        s3: {
          object: {
            key: encodeEventKey(object.key),
            ...(object.versionId ? { versionId: object.versionId } : {}),
            ...(object.etag ? { eTag: object.etag } : {}),
          },
        },
      },
    ],
  });
}

interface RawRecord {
  eventName?: unknown;
  eventSource?: unknown;
  integrator?: { fileId?: unknown };
  responseElements?: { 'x-amz-request-id'?: unknown };
  s3?: { object?: { key?: unknown; versionId?: unknown; eTag?: unknown; size?: unknown; sequencer?: unknown } };
}

export function parseNotification(body: string): ParsedMessage {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    return { kind: 'unreadable', reason: 'the message body is not JSON' };
  }
  const outer = message as { Type?: unknown; Message?: unknown; Event?: unknown; Records?: unknown; source?: unknown };
  if (outer?.Type === 'Notification' && typeof outer.Message === 'string') return parseNotification(outer.Message);
  if (outer?.source === TRANSFER_SOURCE) {
    const parsed = parseTransferEvent(outer as { 'detail-type'?: unknown; detail?: unknown });
    return parsed.ok ? { kind: 'arrivals', arrivals: parsed.arrivals } : { kind: 'unreadable', reason: parsed.reason };
  }
  if (outer?.Event === 's3:TestEvent') return { kind: 'test_event' };
  if (!Array.isArray(outer?.Records)) return { kind: 'unreadable', reason: 'the message has no Records' };
  const arrivals: Arrival[] = [];
  for (const record of outer.Records as RawRecord[]) {
    const object = record?.s3?.object;
    if (typeof record?.eventName !== 'string' || typeof object?.key !== 'string') {
      return { kind: 'unreadable', reason: 'a record has no eventName or object key' };
    }
    let key: string;
    try {
      key = decodeEventKey(object.key);
    } catch {
      return { kind: 'unreadable', reason: `the object key ${object.key} is not validly URL-encoded` };
    }
    arrivals.push({
      eventName: record.eventName,
      key,
      ...(typeof object.versionId === 'string' && object.versionId !== '' ? { versionId: object.versionId } : {}),
      ...(typeof object.eTag === 'string' && object.eTag !== '' ? { etag: object.eTag } : {}),
      ...(typeof object.size === 'number' ? { size: object.size } : {}),
      ...(typeof record.responseElements?.['x-amz-request-id'] === 'string'
        ? { requestId: record.responseElements['x-amz-request-id'] }
        : {}),
      ...(typeof object.sequencer === 'string' && object.sequencer !== '' ? { sequencer: object.sequencer } : {}),
      ...(record.eventSource === 'integrator:lane' && typeof record.integrator?.fileId === 'string'
        ? { fileId: record.integrator.fileId }
        : {}),
    });
  }
  return { kind: 'arrivals', arrivals };
}
