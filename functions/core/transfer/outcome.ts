/**
 * The customer's outcome file: the failed rows as they were received, each with its error, so the customer can fix
 * them at the source (or in the file) and send them again.
 *
 * Cells are CSV-injection safe by the one rule every CSV we write follows (csv/formula-guard.ts, OWASP): a cell that
 * starts like a formula gets a leading single quote, so a spreadsheet shows it as text instead of running it. Always
 * on here: the outcome file is for people. UTF-8 with a BOM, CRLF line ends: what Excel opens correctly.
 */
import { csvLineWriter, SPREADSHEET_CSV } from './csv/write-csv.ts';
import type { RowError } from './runs.ts';

const writer = csvLineWriter(SPREADSHEET_CSV);

export function safeCell(value: string): string {
  return writer.cell(value);
}

export function csvLine(cells: readonly string[]): string {
  return writer.line(cells);
}

/** The heading of the error column: `Error`, unless the customer's file already has one. */
export function errorColumnHeading(header: readonly string[]): string {
  const taken = new Set(header.map((h) => h.trim().toLowerCase()));
  let heading = 'Error';
  for (let i = 2; taken.has(heading.toLowerCase()); i++) heading = `Integrator Error${i > 2 ? ` ${i - 1}` : ''}`;
  return heading;
}

/** Streams the outcome file from the run's recorded errors (rows kept and only noted are left out). */
export async function* outcomeLines(header: readonly string[], errors: AsyncIterable<RowError>): AsyncIterable<string> {
  yield `\uFEFF${csvLine([...header, errorColumnHeading(header)])}`;
  for await (const error of errors) {
    if (error.kept || !error.values) continue;
    const cells = [...error.values];
    while (cells.length < header.length) cells.push('');
    yield csvLine([...cells, error.problems.map((p) => p.message).join(' | ')]);
  }
}
