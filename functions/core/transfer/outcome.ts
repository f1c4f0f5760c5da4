/**
 * The customer's outcome file: the failed rows as they were received, each with its error, so the customer can fix
 * them at the source (or in the file) and send them again.
 *
 * Cells are CSV-injection safe (OWASP): a cell starting with = + - @ tab, CR or LF gets a leading single quote, so a
 * spreadsheet shows it as text instead of running it. So does one where spaces or tabs come before = + - @ (Excel and
 * LibreOffice skip them and still read a formula), and one starting with the full-width forms ＝ ＋ － ＠ (which
 * spreadsheets in Japanese and Chinese locales turn into their ASCII forms as they are typed or imported).
 * UTF-8 with a BOM, CRLF line ends: what Excel opens correctly.
 */
import type { RowError } from './runs.ts';

/** A formula trigger at the start, after any spaces or tabs; U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠. */
const FORMULA_START = /^(?:[\t\r\n]|[ \t]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;

export function safeCell(value: string): string {
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly string[]): string {
  return `${cells.map(safeCell).join(',')}\r\n`;
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
