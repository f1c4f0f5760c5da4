/**
 * The calendar field-mapping reference, rendered from the mapping code itself (never written twice): each kind's
 * placeholder event goes through toExternalBody, graphEventBody and googleEventPatch, and the table shows what they
 * produce. `npx tsx scripts/calendar-field-mapping.ts` writes docs/calendar-field-mapping.md; a unit test fails when
 * the file is not what the code renders.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { googleEventId, googleEventPatch } from '../functions/adapters/google-calendar-mapping.ts';
import { graphEventBody } from '../functions/adapters/microsoft-calendar-mapping.ts';
import { type CalendarEvent, EVENT_KINDS } from '../functions/core/calendar/events.ts';
import { toExternalBody } from '../functions/core/calendar/mapping.ts';
import type { ExternalWhen } from '../functions/core/calendar/provider.ts';

export const MAPPING_FILE = 'docs/calendar-field-mapping.md';

const TIMED: ExternalWhen = {
  kind: 'timed',
  start: '2026-12-14T09:00:00',
  end: '2026-12-14T10:00:00',
  timeZone: 'America/New_York',
};
const ALL_DAY: ExternalWhen = { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-15' };

function placeholder(kind: CalendarEvent['kind'], when: ExternalWhen): CalendarEvent {
  return {
    org: '<org>',
    eventId: '<eventId>',
    version: 1,
    createdAt: '',
    updatedAt: '',
    caseManagerId: '<caseManager>',
    kind,
    title: '<title>',
    when,
    location: '<location>',
    notes: '<notes>',
    caseRef: '<caseRef>',
    ...(kind === 'court_date' ? { court: '<court>', hearingType: '<hearingType>' } : {}),
    ...(kind === 'interview_date' ? { applicant: '<applicant>' } : {}),
  };
}

const cell = (text: string) => `\`${text.replace(/\|/g, '\\|').replace(/\n+/g, ' / ')}\``;

export function renderFieldMapping(): string {
  const rows = EVENT_KINDS.map((kind) => {
    const body = toExternalBody(placeholder(kind, TIMED));
    const allDay = toExternalBody(placeholder(kind, ALL_DAY));
    const graph = graphEventBody(allDay) as { isAllDay: boolean; start: { dateTime: string; timeZone: string } };
    const google = googleEventPatch(allDay) as { start: { date: string } };
    return [
      kind,
      cell(body.title),
      `timed: ${cell(`${TIMED.kind === 'timed' ? TIMED.timeZone : ''}`)} wall time; all-day: Graph isAllDay=${graph.isAllDay} ${cell(graph.start.dateTime)} ${graph.start.timeZone}, Google ${cell(`date ${google.start.date}`)}`,
      cell(body.location ?? ''),
      cell(body.description),
      `${body.reminderMinutesBefore} min`,
    ];
  });
  const header = ['Kind', 'Title', 'Start / end', 'Location', 'Description', 'Reminder (default)'];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const table = [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
  return `# Calendar field mapping per kind

Generated from the code by \`npx tsx scripts/calendar-field-mapping.ts\` (functions/core/calendar/mapping.ts,
functions/adapters/google-calendar-mapping.ts, microsoft-calendar-mapping.ts); test/unit/calendar-field-mapping.test.ts
fails when this file and the code disagree. Placeholders in angle brackets; a timed event in America/New_York.

${table}

- No invitations: Google writes carry \`sendUpdates=none\`; Graph events have no attendees and \`responseRequested: ${String((graphEventBody(toExternalBody(placeholder('appointment', TIMED))) as { responseRequested: boolean }).responseRequested)}\`.
- Idempotency: Graph creates carry \`transactionId\` = the push's idempotency key; Google creates use a client-chosen
  base32hex id (SHA-256 of the key, e.g. \`${googleEventId('<org>/<eventId>').slice(0, 16)}…\`, ${googleEventId('x').length} characters).
- \`reminderMinutesBefore\` on the event overrides the kind's default.
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(MAPPING_FILE, renderFieldMapping());
}
