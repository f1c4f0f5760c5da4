/**
 * Transforms the other way: what an export mapping entry does to our stored value(s) before they become the
 * customer's cell. Pure; checked once (`exportTransformProblems`), compiled once per run (`compileExportPipeline`).
 *
 * The steps of transforms.ts that make sense outward are reused as they are: `trim`, `case`, `map` (our value -> the
 * customer's), `default`, `split` and `join` (several of our fields into one column). Inward `date` (reading the
 * customer's formats) has no meaning here; its outward twin is `formatDate`: our stored YYYY-MM-DD written in one
 * format of the same tokens (YYYY, YY, MM, M, DD, D, MMM, MMMM and literal separators), so the customer's importer
 * reads it back with the very format its job names. Unlike an import, nothing is trimmed unless the entry starts
 * with a `trim` step: a stored value is written exactly as stored. `formatDate` comes first (after `trim`), on one field: it reads
 * the stored value, before any other step changes it. A stored value that is not a real YYYY-MM-DD date is an error.
 */
import {
  compilePipeline,
  parseDateFormat,
  type Transform,
  type TransformResult,
  transformProblems,
} from './transforms.ts';

export type ExportTransform = Exclude<Transform, { type: 'date' }> | { type: 'formatDate'; format: string };

export interface ExportPipeline {
  run(values: readonly string[]): TransformResult;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const TOKENS = ['YYYY', 'MMMM', 'MMM', 'YY', 'MM', 'DD', 'M', 'D'] as const;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

type Piece = (typeof TOKENS)[number] | { literal: string };

function pieces(format: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  while (i < format.length) {
    const token = TOKENS.find((t) => format.startsWith(t, i));
    if (token) {
      out.push(token);
      i += token.length;
    } else {
      const last = out.at(-1);
      if (last && typeof last === 'object') last.literal += format[i];
      else out.push({ literal: format[i]! });
      i++;
    }
  }
  return out;
}

/** A date formatter for one checked format: YYYY-MM-DD in, the format out (or a failure). */
export function dateFormatter(format: string): (value: string) => TransformResult {
  const parts = pieces(format);
  const rule = `a date stored as YYYY-MM-DD (written ${format})`;
  return (value) => {
    if (value === '') return value;
    const m = ISO_DATE.exec(value);
    const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
    const real = m !== null && new Date(Date.UTC(y, mo - 1, d)).getUTCDate() === d && mo >= 1 && mo <= 12;
    if (!real) return { code: 'invalid_date', transform: 'date', value, rule };
    let out = '';
    for (const p of parts) {
      if (typeof p === 'object') out += p.literal;
      else if (p === 'YYYY') out += m![1];
      else if (p === 'YY') out += m![1]!.slice(2);
      else if (p === 'MM') out += m![2];
      else if (p === 'M') out += String(mo);
      else if (p === 'DD') out += m![3];
      else if (p === 'D') out += String(d);
      else if (p === 'MMM') out += MONTHS[mo - 1]!.slice(0, 3);
      else out += MONTHS[mo - 1];
    }
    return out;
  };
}

/**
 * What is wrong with an entry's outward transforms, in words (empty when they can run). `fields`: how many of our
 * fields the entry reads (several need a `join`); `isDate`: whether the one field is a date (for `formatDate`).
 */
export function exportTransformProblems(transforms: unknown, fields: number, isDate: boolean): string[] {
  if (transforms === undefined) return fields > 1 ? ['several fields need a join transform to make one value'] : [];
  if (!Array.isArray(transforms)) return ['transforms must be a list'];
  const problems: string[] = [];
  const rest: unknown[] = [];
  transforms.forEach((t: unknown, i) => {
    const at = `transform ${i + 1}`;
    const type = typeof t === 'object' && t !== null ? (t as { type?: unknown }).type : undefined;
    if (type === 'date') {
      problems.push(`${at}: date reads the customer's formats on import; an export writes dates with formatDate`);
      return;
    }
    if (type !== 'formatDate') {
      rest.push(t);
      return;
    }
    const format = (t as { format?: unknown }).format;
    const parsed = typeof format === 'string' ? parseDateFormat(format) : 'format must be text such as "MM/DD/YYYY"';
    if (typeof parsed === 'string') problems.push(`${at} (formatDate): ${parsed}`);
    const first = transforms[0] as { type?: unknown } | undefined;
    if (i !== (first?.type === 'trim' ? 1 : 0)) problems.push(`${at} (formatDate) must come first (after trim)`);
    if (fields !== 1) problems.push(`${at} (formatDate) formats one field, not a join of ${fields}`);
    else if (!isDate) problems.push(`${at} (formatDate) needs a date field`);
  });
  problems.push(...transformProblems(rest, fields));
  return problems;
}

/** Compiles checked outward transforms; `fallback` is the entry's default (for an empty result). */
export function compileExportPipeline(transforms: readonly ExportTransform[] = [], fallback?: string): ExportPipeline {
  const format = transforms.find((t): t is Extract<ExportTransform, { type: 'formatDate' }> => t.type === 'formatDate');
  // Our stored values are written as stored: no trimming unless the entry asks for it (a `trim` step first).
  const steps = transforms.filter((t) => t.type !== 'formatDate') as Transform[];
  const rest: Transform[] = steps[0]?.type === 'trim' ? steps : [{ type: 'trim', mode: 'none' }, ...steps];
  const pipeline = compilePipeline(rest, fallback);
  if (!format) return pipeline;
  const toText = dateFormatter(format.format);
  return {
    run(values) {
      const formatted = toText((values[0] ?? '').trim());
      return typeof formatted === 'string' ? pipeline.run([formatted]) : formatted;
    },
  };
}
