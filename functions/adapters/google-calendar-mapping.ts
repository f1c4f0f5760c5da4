/**
 * Our external event body in Google Calendar's words (https://developers.google.com/calendar/api/v3/reference/events),
 * and the client-chosen event id. Timed events carry wall time and the IANA zone (Google needs no offset when
 * `timeZone` is given); all-day events carry `date` only, so they stay all-day whatever the user's zone. The patch
 * form sends null for what we no longer set (Google's patch merges; null removes), so a change clears what was
 * removed and turns a timed event into an all-day one cleanly. Our event id travels in extendedProperties.private.
 */
import { createHash } from 'node:crypto';
import type { ExternalEventBody } from '../core/calendar/provider.ts';

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/**
 * The Google event id for an idempotency key: base32hex (a-v, 0-9, as Google requires) of its SHA-256, 52
 * characters. The same key always gives the same id, so a retried insert meets its own 409.
 */
export function googleEventId(idempotencyKey: string): string {
  const bytes = createHash('sha256').update(idempotencyKey).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31];
  return out;
}

export function googleEventPatch(body: ExternalEventBody): Record<string, unknown> {
  const when =
    body.when.kind === 'timed'
      ? {
          start: { dateTime: body.when.start, timeZone: body.when.timeZone, date: null },
          end: { dateTime: body.when.end, timeZone: body.when.timeZone, date: null },
        }
      : {
          start: { date: body.when.startDate, dateTime: null, timeZone: null },
          end: { date: body.when.endDate, dateTime: null, timeZone: null },
        };
  return {
    summary: body.title,
    description: body.description,
    location: body.location ?? null,
    ...when,
    reminders:
      body.reminderMinutesBefore !== undefined
        ? { useDefault: false, overrides: [{ method: 'popup', minutes: body.reminderMinutesBefore }] }
        : { useDefault: false, overrides: [] },
    extendedProperties: { private: { integratorEventId: body.integratorEventId } },
  };
}

/** The insert form: the patch form without its nulls. */
export function googleEventInsert(body: ExternalEventBody, id: string): Record<string, unknown> {
  return { id, ...withoutNulls(googleEventPatch(body)) };
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    out[key] = typeof v === 'object' && !Array.isArray(v) ? withoutNulls(v as Record<string, unknown>) : v;
  }
  return out;
}
