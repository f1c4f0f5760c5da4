/**
 * Transforms: what a mapping entry does to the customer's cell(s) before the value becomes one of our fields.
 * Pure functions; a job's transforms are checked once (`transformProblems`), compiled once per file
 * (`compilePipeline`) and then run for every row.
 *
 * An entry's pipeline:
 *   cells (one column, or several for `join`)
 *   -> trim each cell (on by default: `{ type: 'trim', mode: 'ends' }`; `collapse` also squeezes inner spaces,
 *      `none` keeps every space as received; a `trim` step, if written, comes first)
 *   -> `join` (several columns only, and then it comes next: the cells joined by a separator, empty ones left out)
 *   -> the other steps in the order written: `case`, `date`, `map`, `default`, `split`
 *   -> trim the result the same way (so the pieces of "Silva, Ana" split at "," come out clean)
 *   -> the entry's `default` when the result is empty.
 * An empty value passes every step untouched except `default`: whether a field may be empty is the template's rule.
 *
 * Nothing is guessed. A date is read only with the formats the job lists; a value two formats read as different
 * dates is an error (`ambiguous_date`), as is a value no format reads. Two-digit years (`YY`) use a documented
 * century pivot (default 50: 00-49 -> 2000-2049, 50-99 -> 1950-1999). A value missing from a value map is an error
 * unless the map says `keep` or `blank`.
 *
 * A failing step returns a `TransformFailure` (code, rule, the value it was given); `transformProblem` turns it into
 * the customer's Problem with the file, row and column.
 */
import { isRecord } from '../guards.ts';
import type { Problem } from '../problems.ts';

export type TrimMode = 'ends' | 'collapse' | 'none';

export type Transform =
  | { type: 'trim'; mode?: TrimMode }
  | { type: 'case'; to: 'upper' | 'lower' | 'title' }
  | {
      type: 'date';
      /** Input formats, tried all: YYYY, YY, MM, M, DD, D, MMM (Jan), MMMM (January) and literal separators. */
      formats: string[];
      /** Two-digit years below it are 20YY, the others 19YY; 0..100, default 50. */
      pivot?: number;
    }
  | {
      type: 'map';
      /** Customer value -> our value, e.g. { "Active": "A" }. */
      values: Record<string, string>;
      caseInsensitive?: boolean;
      /** A value the map does not list: an error (default), kept as it is, or blanked. */
      unmapped?: 'error' | 'keep' | 'blank';
    }
  | { type: 'default'; value: string }
  | {
      type: 'split';
      separator: string;
      /** Which part, from 0; negative counts from the end (-1: the last). */
      index: number;
      /** A value with too few parts: an error (default) or an empty result. */
      missing?: 'error' | 'blank';
    }
  | {
      type: 'join';
      separator: string;
      /** Leave empty cells out (default true), so "Ana" + "" + "Silva" is "Ana Silva". */
      skipEmpty?: boolean;
    };

export type TransformType = Transform['type'];

export const TRANSFORM_TYPES: readonly TransformType[] = ['trim', 'case', 'date', 'map', 'default', 'split', 'join'];

/** Why a value could not be transformed. */
export interface TransformFailure {
  /** `invalid_date`, `ambiguous_date`, `unmapped_value`, `missing_part`. */
  code: string;
  transform: TransformType;
  /** The value the failing step was given (before masking: the caller masks sensitive fields). */
  value: string;
  /** The rule in words: `a date written MM/DD/YYYY`. */
  rule: string;
  /** What is wrong, when "must be <rule>" would not say it: `could be 2026-03-04 (MM/DD/YYYY) or ...`. */
  detail?: string;
}

/** A string on success. */
export type TransformResult = string | TransformFailure;

export function isFailure(result: TransformResult): result is TransformFailure {
  return typeof result !== 'string';
}

export interface Pipeline {
  /** The entry's cells (one per column of the entry, in its order) -> our value ('' when empty), or why not. */
  run(cells: readonly string[]): TransformResult;
}

// ---------------------------------------------------------------------------------------------------------------
// Trim and case

function trimmer(mode: TrimMode): (v: string) => string {
  if (mode === 'none') return (v) => v;
  if (mode === 'collapse') return (v) => v.trim().replace(/\s+/g, ' ');
  return (v) =>
    v.length > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32 || /^\s|\s$/.test(v)) ? v.trim() : v;
}

/** "ANA MARIA o'neil-SMITH" -> "Ana Maria O'Neil-Smith": a capital after a space, a hyphen or a one-letter O'/D'. */
export function titleCase(value: string): string {
  return value
    .toLowerCase()
    .replace(/((?:^|[\s-])\p{L}['’]|^|[\s-])(\p{L})/gu, (_m, before: string, letter: string) => {
      return before.toUpperCase() + letter.toUpperCase();
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Dates

type DatePart = 'Y4' | 'Y2' | 'M2' | 'M' | 'MN3' | 'MN' | 'D2' | 'D';

interface DateFormat {
  text: string;
  regex: RegExp;
  parts: DatePart[];
}

const DATE_TOKENS: readonly [string, DatePart, string][] = [
  ['YYYY', 'Y4', '(\\d{4})'],
  ['MMMM', 'MN', '(\\p{L}{3,})'],
  ['MMM', 'MN3', '(\\p{L}{3})'],
  ['YY', 'Y2', '(\\d{2})'],
  ['MM', 'M2', '(\\d{2})'],
  ['DD', 'D2', '(\\d{2})'],
  ['M', 'M', '(\\d{1,2})'],
  ['D', 'D', '(\\d{1,2})'],
];

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

const NUMERIC: ReadonlySet<DatePart> = new Set(['Y4', 'Y2', 'M2', 'M', 'D2', 'D']);
const VARIABLE: ReadonlySet<DatePart> = new Set(['M', 'D']);

/** Compiles one input format, or says why it cannot be read without guessing. */
export function parseDateFormat(text: string): DateFormat | string {
  if (typeof text !== 'string' || text.trim() === '') return 'a date format may not be empty';
  const parts: DatePart[] = [];
  let source = '';
  let previous: DatePart | 'literal' | undefined;
  let i = 0;
  while (i < text.length) {
    const token = DATE_TOKENS.find(([t]) => text.startsWith(t, i));
    if (token) {
      const [t, part, pattern] = token;
      if (
        previous !== undefined &&
        previous !== 'literal' &&
        NUMERIC.has(previous) &&
        NUMERIC.has(part) &&
        (VARIABLE.has(previous) || VARIABLE.has(part))
      ) {
        return `date format "${text}": M and D (one or two digits) need a separator from the number next to them; write MM or DD for a fixed width`;
      }
      parts.push(part);
      source += pattern;
      previous = part;
      i += t.length;
      continue;
    }
    const ch = text[i]!;
    if (/\p{L}|\d/u.test(ch)) {
      return `date format "${text}": "${ch}" is not a date part (use YYYY, YY, MM, M, DD, D, MMM or MMMM and separators)`;
    }
    source += ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    previous = 'literal';
    i++;
  }
  const years = parts.filter((p) => p === 'Y4' || p === 'Y2').length;
  const months = parts.filter((p) => p === 'M2' || p === 'M' || p === 'MN3' || p === 'MN').length;
  const days = parts.filter((p) => p === 'D2' || p === 'D').length;
  if (years !== 1 || months !== 1 || days !== 1) {
    return `date format "${text}" must have exactly one year (YYYY or YY), one month (MM, M, MMM or MMMM) and one day (DD or D)`;
  }
  return { text, regex: new RegExp(`^${source}$`, 'iu'), parts };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function realDate(y: number, m: number, d: number): boolean {
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const days = [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

function iso(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** `{ iso }` when the format reads the value as a real date, `'not_real'` when it reads a date that does not exist. */
function readDate(format: DateFormat, value: string, pivot: number): { iso: string } | 'no_match' | 'not_real' {
  const m = format.regex.exec(value);
  if (!m) return 'no_match';
  let year = 0;
  let month = 0;
  let day = 0;
  for (let k = 0; k < format.parts.length; k++) {
    const raw = m[k + 1]!;
    switch (format.parts[k]) {
      case 'Y4':
        year = Number(raw);
        break;
      case 'Y2': {
        const yy = Number(raw);
        year = yy < pivot ? 2000 + yy : 1900 + yy;
        break;
      }
      case 'M2':
      case 'M':
        month = Number(raw);
        break;
      case 'MN3': {
        month = MONTHS.findIndex((name) => name.slice(0, 3) === raw.toLowerCase()) + 1;
        if (month === 0) return 'no_match';
        break;
      }
      case 'MN': {
        month = MONTHS.indexOf(raw.toLowerCase()) + 1;
        if (month === 0) return 'no_match';
        break;
      }
      default:
        day = Number(raw);
    }
  }
  return realDate(year, month, day) ? { iso: iso(year, month, day) } : 'not_real';
}

function writtenAs(formats: readonly DateFormat[]): string {
  const names = formats.map((f) => f.text);
  return names.length === 1 ? `written ${names[0]}` : `written as one of ${names.join(', ')}`;
}

function dateStep(formats: DateFormat[], pivot: number): (v: string) => TransformResult {
  const written = writtenAs(formats);
  const rule = `a date ${written}`;
  return (value) => {
    if (value === '') return value;
    const readings: { iso: string; format: string }[] = [];
    let notReal = false;
    for (const f of formats) {
      const r = readDate(f, value, pivot);
      if (r === 'not_real') notReal = true;
      else if (r !== 'no_match' && !readings.some((x) => x.iso === r.iso)) readings.push({ ...r, format: f.text });
    }
    if (readings.length === 1) return readings[0]!.iso;
    if (readings.length > 1) {
      return {
        code: 'ambiguous_date',
        transform: 'date',
        value,
        rule: `${rule}, read by only one of them`,
        detail: `could be ${readings.map((r) => `${r.iso} (${r.format})`).join(' or ')}; it was not guessed`,
      };
    }
    if (notReal) {
      return {
        code: 'invalid_date',
        transform: 'date',
        value,
        rule: `a real date ${written}`,
        detail: `is not a real date (${written})`,
      };
    }
    return { code: 'invalid_date', transform: 'date', value, rule };
  };
}

/**
 * The formats among `candidates` that read every non-empty value as a real date, for smart mapping's suggestions.
 * Formats that read them all but give different dates for some value are all returned: the caller decides.
 */
export function dateFormatsReading(values: readonly string[], candidates: readonly string[], pivot = 50): string[] {
  const present = values.map((v) => v.trim()).filter((v) => v !== '');
  if (present.length === 0) return [];
  return candidates.filter((text) => {
    const f = parseDateFormat(text);
    return typeof f !== 'string' && present.every((v) => typeof readDate(f, v, pivot) === 'object');
  });
}

/** Formats smart mapping tries on sample dates; the variable-width ones first (they also read padded values). */
export const COMMON_DATE_FORMATS: readonly string[] = [
  'YYYY-MM-DD',
  'M/D/YYYY',
  'D/M/YYYY',
  'D.M.YYYY',
  'YYYYMMDD',
  'YYYY/M/D',
  'D-MMM-YYYY',
  'D MMM YYYY',
  'M/D/YY',
  'D/M/YY',
  'D.M.YY',
  'D-MMM-YY',
];

/**
 * The date transform sample values call for: none when they are already ISO (what templates expect) or are not
 * dates; one format when exactly one reading of them exists; otherwise the formats that disagree, for a person to
 * choose (`03/04/2026` is March or April): never a guess.
 */
export function suggestDateFormat(values: readonly string[]): { format?: string; ambiguous?: string[] } {
  const present = values.map((v) => v.trim()).filter((v) => v !== '');
  if (present.length === 0) return {};
  const reading = (text: string) => {
    const f = parseDateFormat(text) as DateFormat;
    return present.map((v) => readDate(f, v, 50)).map((r) => (typeof r === 'object' ? r.iso : ''));
  };
  const formats = dateFormatsReading(present, COMMON_DATE_FORMATS);
  if (formats.length === 0 || formats[0] === 'YYYY-MM-DD') return {};
  const distinct: { format: string; key: string }[] = [];
  for (const format of formats) {
    const key = reading(format).join('|');
    if (!distinct.some((d) => d.key === key)) distinct.push({ format, key });
  }
  return distinct.length === 1 ? { format: distinct[0]!.format } : { ambiguous: distinct.map((d) => d.format) };
}

// ---------------------------------------------------------------------------------------------------------------
// Value maps, split, join

function listed(keys: readonly string[]): string {
  const shown = keys.slice(0, 10).join(', ');
  return keys.length > 10 ? `${shown} (and ${keys.length - 10} more)` : shown;
}

function mapStep(t: Extract<Transform, { type: 'map' }>): (v: string) => TransformResult {
  const ci = t.caseInsensitive === true;
  const table = new Map<string, string>();
  for (const [from, to] of Object.entries(t.values)) table.set(ci ? from.toLowerCase() : from, to);
  const unmapped = t.unmapped ?? 'error';
  const keys = Object.keys(t.values);
  const rule = `one of ${listed(keys)} (value map${ci ? ', any case' : ''})`;
  return (value) => {
    if (value === '') return value;
    const hit = table.get(ci ? value.toLowerCase() : value);
    if (hit !== undefined) return hit;
    if (unmapped === 'keep') return value;
    if (unmapped === 'blank') return '';
    return {
      code: 'unmapped_value',
      transform: 'map',
      value,
      rule,
      detail: `is not in the value map: it must be ${rule}`,
    };
  };
}

function splitStep(
  t: Extract<Transform, { type: 'split' }>,
  trim: (v: string) => string,
): (v: string) => TransformResult {
  const wanted = t.index >= 0 ? t.index + 1 : -t.index;
  const which = t.index >= 0 ? `part ${t.index + 1}` : t.index === -1 ? 'the last part' : `part ${wanted} from the end`;
  const rule = `a value with at least ${wanted} ${wanted === 1 ? 'part' : 'parts'} separated by "${t.separator}"`;
  return (value) => {
    if (value === '') return value;
    const pieces = value.split(t.separator);
    const piece = t.index >= 0 ? pieces[t.index] : pieces[pieces.length + t.index];
    if (piece !== undefined && pieces.length >= wanted) return trim(piece);
    if (t.missing === 'blank') return '';
    return {
      code: 'missing_part',
      transform: 'split',
      value,
      rule,
      detail: `has no ${which} when split at "${t.separator}" (it must be ${rule})`,
    };
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Checking a job's transforms

const CASES = ['upper', 'lower', 'title'];
const TRIM_MODES: readonly TrimMode[] = ['ends', 'collapse', 'none'];
const MAX_MAP_VALUES = 1000;
export const MAX_TRANSFORMS = 20;

/**
 * What is wrong with an entry's transforms, in words (empty when they can run). `columns` is how many columns the
 * entry reads: several need a `join`, one may not have it. Robust to any JSON (the API stores what users send).
 */
export function transformProblems(transforms: unknown, columns: number): string[] {
  const problems: string[] = [];
  if (transforms === undefined) transforms = [];
  if (!Array.isArray(transforms)) return ['transforms must be a list'];
  if (transforms.length > MAX_TRANSFORMS) problems.push(`at most ${MAX_TRANSFORMS} transforms per field`);
  let joins = 0;
  transforms.forEach((t: unknown, i) => {
    const at = `transform ${i + 1}`;
    if (!isRecord(t) || typeof t.type !== 'string') {
      problems.push(`${at} must be an object with a type (${TRANSFORM_TYPES.join(', ')})`);
      return;
    }
    switch (t.type) {
      case 'trim':
        if (t.mode !== undefined && !TRIM_MODES.includes(t.mode as TrimMode)) {
          problems.push(`${at} (trim): mode must be one of ${TRIM_MODES.join(', ')}`);
        }
        if (i !== 0) problems.push(`${at} (trim) must come first: it says how every cell is trimmed`);
        break;
      case 'case':
        if (!CASES.includes(t.to as string)) problems.push(`${at} (case): to must be one of ${CASES.join(', ')}`);
        break;
      case 'date': {
        if (!Array.isArray(t.formats) || t.formats.length === 0) {
          problems.push(`${at} (date): formats must list at least one input format, e.g. ["MM/DD/YYYY"]`);
        } else {
          for (const f of t.formats) {
            const parsed = typeof f === 'string' ? parseDateFormat(f) : 'a date format must be text';
            if (typeof parsed === 'string') problems.push(`${at} (date): ${parsed}`);
          }
        }
        if (
          t.pivot !== undefined &&
          !(Number.isInteger(t.pivot) && (t.pivot as number) >= 0 && (t.pivot as number) <= 100)
        ) {
          problems.push(`${at} (date): pivot must be a whole number from 0 to 100`);
        }
        break;
      }
      case 'map': {
        if (!isRecord(t.values) || Object.keys(t.values).length === 0) {
          problems.push(`${at} (map): values must map at least one customer value to ours, e.g. {"Active": "A"}`);
          break;
        }
        const entries = Object.entries(t.values);
        if (entries.length > MAX_MAP_VALUES) problems.push(`${at} (map): at most ${MAX_MAP_VALUES} values`);
        if (entries.some(([, to]) => typeof to !== 'string'))
          problems.push(`${at} (map): every value must map to text`);
        if (t.caseInsensitive !== undefined && typeof t.caseInsensitive !== 'boolean') {
          problems.push(`${at} (map): caseInsensitive must be true or false`);
        }
        if (t.unmapped !== undefined && !['error', 'keep', 'blank'].includes(t.unmapped as string)) {
          problems.push(`${at} (map): unmapped must be one of error, keep, blank`);
        }
        if (t.caseInsensitive === true) {
          const seen = new Map<string, unknown>();
          for (const [from, to] of entries) {
            const k = from.toLowerCase();
            if (seen.has(k) && seen.get(k) !== to) {
              problems.push(`${at} (map): "${from}" maps to two values when case is ignored`);
            }
            seen.set(k, to);
          }
        }
        break;
      }
      case 'default':
        if (typeof t.value !== 'string') problems.push(`${at} (default): value must be text`);
        break;
      case 'split':
        if (typeof t.separator !== 'string' || t.separator === '') {
          problems.push(`${at} (split): separator must be at least one character`);
        }
        if (!Number.isInteger(t.index) || Math.abs(t.index as number) > 100) {
          problems.push(`${at} (split): index must be a whole number (0 for the first part, -1 for the last)`);
        }
        if (t.missing !== undefined && !['error', 'blank'].includes(t.missing as string)) {
          problems.push(`${at} (split): missing must be error or blank`);
        }
        break;
      case 'join': {
        joins++;
        if (typeof t.separator !== 'string') problems.push(`${at} (join): separator must be text (it may be empty)`);
        if (t.skipEmpty !== undefined && typeof t.skipEmpty !== 'boolean') {
          problems.push(`${at} (join): skipEmpty must be true or false`);
        }
        const first = transforms[0];
        const expected = isRecord(first) && first.type === 'trim' ? 1 : 0;
        if (i !== expected)
          problems.push(`${at} (join) must come first (after trim): it makes one value of the columns`);
        break;
      }
      default:
        problems.push(`${at}: unknown type "${t.type}" (one of ${TRANSFORM_TYPES.join(', ')})`);
    }
  });
  if (columns > 1 && joins === 0) problems.push(`several columns need a join transform to make one value`);
  if (columns <= 1 && joins > 0) problems.push(`join needs several columns (columns: [...])`);
  if (joins > 1) problems.push('at most one join');
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Compiling and running

/**
 * Compiles checked transforms (see `transformProblems`) into a pipeline. `fallback` is the entry's `default`.
 * Throws on transforms that were not checked: a launched job's transforms always are.
 */
export function compilePipeline(transforms: readonly Transform[] = [], fallback?: string): Pipeline {
  const first = transforms[0];
  const mode: TrimMode = first?.type === 'trim' ? (first.mode ?? 'ends') : 'ends';
  const trim = trimmer(mode);
  let join: Extract<Transform, { type: 'join' }> | undefined;
  const steps: ((v: string) => TransformResult)[] = [];
  for (const t of transforms) {
    switch (t.type) {
      case 'trim':
        break;
      case 'join':
        join = t;
        break;
      case 'case':
        steps.push(t.to === 'upper' ? (v) => v.toUpperCase() : t.to === 'lower' ? (v) => v.toLowerCase() : titleCase);
        break;
      case 'date': {
        const formats = t.formats.map(parseDateFormat);
        const bad = formats.find((f) => typeof f === 'string');
        if (bad !== undefined) throw new Error(bad as string);
        steps.push(dateStep(formats as DateFormat[], t.pivot ?? 50));
        break;
      }
      case 'map':
        steps.push(mapStep(t));
        break;
      case 'default': {
        const value = t.value;
        steps.push((v) => (v === '' ? value : v));
        break;
      }
      case 'split':
        steps.push(splitStep(t, trim));
        break;
      default:
        throw new Error(`unknown transform ${(t as { type: string }).type}`);
    }
  }
  const separator = join?.separator ?? '';
  const skipEmpty = join?.skipEmpty ?? true;
  return {
    run(cells) {
      let value: string;
      if (cells.length === 1) value = trim(cells[0] ?? '');
      else {
        const parts: string[] = [];
        for (const c of cells) {
          const v = trim(c ?? '');
          if (v !== '' || !skipEmpty) parts.push(v);
        }
        value = parts.join(separator);
      }
      for (const step of steps) {
        const r = step(value);
        if (typeof r !== 'string') return r;
        value = r;
      }
      value = trim(value);
      return value === '' && fallback !== undefined ? fallback : value;
    },
  };
}

/** Runs transforms on one value (tests, previews). */
export function applyTransforms(transforms: readonly Transform[], cells: string | readonly string[]): TransformResult {
  return compilePipeline(transforms).run(typeof cells === 'string' ? [cells] : cells);
}

/**
 * The customer's Problem for a failed transform: file, row, the column heading, the value (through `show`, which masks
 * sensitive fields) and the rule.
 */
export function transformProblem(
  failure: TransformFailure,
  place: { fileName: string; row: number; column: string },
  show: (value: string) => string = (v) => v,
): Problem {
  const value = show(failure.value);
  // A detail may repeat what the value says (the dates an ambiguous value could be): not for a masked value.
  const what = failure.detail !== undefined && value === failure.value ? failure.detail : `must be ${failure.rule}`;
  return {
    code: failure.code,
    message: `${place.fileName} row ${place.row}: "${place.column}" value "${value}" ${what} (${failure.transform} transform)`,
    file: place.fileName,
    row: place.row,
    column: place.column,
    value,
    rule: failure.rule,
  };
}
