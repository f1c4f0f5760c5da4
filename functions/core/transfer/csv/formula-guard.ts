/**
 * The one rule for cells a spreadsheet would execute (CSV or formula injection), shared by every CSV we write: the
 * import's outcome files (outcome.ts) and the exports (write-csv.ts).
 *
 * OWASP's CSV Injection guidance: a cell that begins with `=`, `+`, `-`, `@`, tab (0x09) or carriage return (0x0D)
 * can be read as a formula when the file is opened in Excel, LibreOffice Calc or Google Sheets; prepend a single
 * quote (`'`) so that it is shown as text, and quote the cell as RFC 4180 says (ASVS 1.2.10 adds NUL). We also catch:
 * - a line feed first (some spreadsheets drop it and read what follows);
 * - spaces or tabs before `=`, `+`, `-`, `@` (Excel and LibreOffice skip them and still read a formula);
 * - the full-width forms U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠ (spreadsheets in Japanese and Chinese locales
 *   turn them into the ASCII ones on import).
 * The quote is visible in the cell: a value such as `-5` or `+49 30 1234` is then text. That is why the exports have
 * a per-job switch for machine consumers (a payroll or HR system reading the file, not a person in a spreadsheet),
 * which turns the rule off; the outcome files, meant for people, always apply it.
 */
const FORMULA_START = /^(?:[\t\r\n\0]|[ \t]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;

/** True when a spreadsheet could run the value as a formula. */
export function startsLikeFormula(value: string): boolean {
  return FORMULA_START.test(value);
}

/** The value as a spreadsheet shows it as text: a leading single quote when it starts like a formula. */
export function neutralizeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}
