/**
 * Our external event body in Graph's words (https://learn.microsoft.com/graph/api/resources/event). Timed events
 * carry the IANA zone, which Graph accepts in `timeZone`; all-day events run from midnight to midnight with
 * `isAllDay`, in UTC (the port's all-day dates have no zone: a date, whatever the user's zone). Every property we
 * own is always sent, so a PATCH with this body also clears what was removed (location, reminder). Our event's id
 * travels in a single-value extended property in Integrator's own namespace, for the inbound half's echo check.
 */
import type { ExternalEventBody } from '../core/calendar/provider.ts';

/** The extended property holding our event id (a GUID namespace of Integrator's own). */
export const INTEGRATOR_EVENT_ID_PROPERTY = 'String {8f3c2a61-5b7e-4d0a-9c1f-2e6b4a7d9e35} Name integratorEventId';

export interface GraphEvent {
  id: string;
  changeKey: string;
}

export function graphEventBody(body: ExternalEventBody): Record<string, unknown> {
  const when =
    body.when.kind === 'timed'
      ? {
          isAllDay: false,
          start: { dateTime: body.when.start, timeZone: body.when.timeZone },
          end: { dateTime: body.when.end, timeZone: body.when.timeZone },
        }
      : {
          isAllDay: true,
          start: { dateTime: `${body.when.startDate}T00:00:00`, timeZone: 'UTC' },
          end: { dateTime: `${body.when.endDate}T00:00:00`, timeZone: 'UTC' },
        };
  return {
    subject: body.title,
    body: { contentType: 'text', content: body.description },
    ...when,
    location: { displayName: body.location ?? '' },
    isReminderOn: body.reminderMinutesBefore !== undefined,
    reminderMinutesBeforeStart: body.reminderMinutesBefore ?? 0,
    // A mirrored event has no attendees: nothing is sent to anyone, and no answer is asked for.
    responseRequested: false,
    singleValueExtendedProperties: [{ id: INTEGRATOR_EVENT_ID_PROPERTY, value: body.integratorEventId }],
  };
}
