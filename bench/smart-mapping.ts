/**
 * Smart-mapping benchmark: runs `suggestMapping` over the labelled HR header sets in
 * test/fixtures/hr-headers.json (English) and test/fixtures/hr-headers-i18n/<lang>.json (German, French, Spanish,
 * Portuguese, Dutch: each row mapped to the import template it names) and reports precision and recall, per
 * source family for English and per language.
 *
 *   precision = correct assignments / assignments made
 *   recall    = correct assignments / columns that have a label
 *
 * Standalone: `npx tsx bench/smart-mapping.ts` (add `--errors` to list every wrong or missed column).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { headerTokens, type MappableField, suggestMapping } from '../functions/core/transfer/smart-mapping.ts';
import { mappableFields } from '../functions/core/transfer/template-views.ts';
import { templates } from '../functions/core/transfer/templates.ts';
import { VOCABULARIES } from '../functions/core/transfer/vocabulary.ts';

export interface LabelledHeaderSet {
  source: string;
  reference: string;
  headers: string[];
  labels: Record<string, string | null>;
}

export interface LabelledHeaderFixture {
  note: string;
  fields: MappableField[];
  entries: LabelledHeaderSet[];
}

export interface MappingCounts {
  /** Header sets (files). */
  headers: number;
  /** Columns over all header sets. */
  columns: number;
  /** Columns whose label is a field. */
  labelled: number;
  /** Columns the mapper gave a field. */
  assigned: number;
  /** Columns the mapper gave the labelled field. */
  correct: number;
  precision: number;
  recall: number;
}

export interface MappingError {
  source: string;
  column: string;
  expected: string | null;
  got: string | null;
  confidence: number;
  reason: string;
}

export interface SmartMappingMeasurement extends MappingCounts {
  threshold: number;
  /** Keyed by source family: the part of `source` before the first colon ("Workday", "SAP SuccessFactors"). */
  perSource: Record<string, MappingCounts>;
  errors: MappingError[];
}

export const FIXTURE_URL = new URL('../test/fixtures/hr-headers.json', import.meta.url);

export function loadHeaderFixture(url: URL = FIXTURE_URL): LabelledHeaderFixture {
  const fixture = JSON.parse(readFileSync(url, 'utf8')) as LabelledHeaderFixture;
  const ids = new Set(fixture.fields.map((f) => f.id));
  for (const entry of fixture.entries) {
    const headers = new Set(entry.headers);
    if (headers.size !== entry.headers.length) throw new Error(`${entry.source}: duplicate header`);
    for (const header of entry.headers) {
      if (!Object.hasOwn(entry.labels, header)) throw new Error(`${entry.source}: no label for "${header}"`);
    }
    for (const [header, label] of Object.entries(entry.labels)) {
      if (!headers.has(header)) throw new Error(`${entry.source}: label for unknown header "${header}"`);
      if (label !== null && !ids.has(label)) throw new Error(`${entry.source}: unknown field "${label}"`);
    }
  }
  return fixture;
}

export function sourceFamily(source: string): string {
  const i = source.indexOf(':');
  return (i < 0 ? source : source.slice(0, i)).trim();
}

function emptyCounts(): MappingCounts {
  return { headers: 0, columns: 0, labelled: 0, assigned: 0, correct: 0, precision: 1, recall: 1 };
}

function finish(c: MappingCounts): MappingCounts {
  c.precision = c.assigned === 0 ? 1 : c.correct / c.assigned;
  c.recall = c.labelled === 0 ? 1 : c.correct / c.labelled;
  return c;
}

export function measureSmartMapping(
  options: { fixture?: LabelledHeaderFixture; threshold?: number } = {},
): SmartMappingMeasurement {
  const fixture = options.fixture ?? loadHeaderFixture();
  const total = emptyCounts();
  const perSource: Record<string, MappingCounts> = {};
  const errors: MappingError[] = [];
  const threshold = options.threshold;
  for (const entry of fixture.entries) {
    const family = sourceFamily(entry.source);
    perSource[family] ??= emptyCounts();
    const counts = [total, perSource[family]!];
    for (const c of counts) c.headers++;
    const suggestions = suggestMapping(entry.headers, fixture.fields, threshold === undefined ? {} : { threshold });
    suggestions.forEach((s, i) => {
      const expected = entry.labels[entry.headers[i]!] ?? null;
      const got = s.field ?? null;
      for (const c of counts) {
        c.columns++;
        if (expected !== null) c.labelled++;
        if (got !== null) c.assigned++;
        if (got !== null && got === expected) c.correct++;
      }
      if (got !== expected) {
        errors.push({
          source: entry.source,
          column: s.column,
          expected,
          got,
          confidence: s.confidence,
          reason: s.reason,
        });
      }
    });
  }
  for (const c of Object.values(perSource)) finish(c);
  finish(total);
  return { ...total, threshold: threshold ?? 0.6, perSource, errors };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function formatSmartMappingReport(m: SmartMappingMeasurement, options: { errors?: boolean } = {}): string {
  const rows: string[][] = [
    ['source family', 'sets', 'columns', 'labelled', 'assigned', 'correct', 'precision', 'recall'],
  ];
  const row = (name: string, c: MappingCounts) => [
    name,
    String(c.headers),
    String(c.columns),
    String(c.labelled),
    String(c.assigned),
    String(c.correct),
    pct(c.precision),
    pct(c.recall),
  ];
  for (const name of Object.keys(m.perSource).sort()) rows.push(row(name, m.perSource[name]!));
  rows.push(row('ALL', m));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out = [`smart mapping (threshold ${m.threshold})`, line(rows[0]!)];
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1, -1)) out.push(line(r));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  out.push(line(rows.at(-1)!));
  if (options.errors) {
    out.push('', `${m.errors.length} columns differ from their label:`);
    for (const e of m.errors) {
      const kind = e.got === null ? 'missed' : e.expected === null ? 'false positive' : 'wrong field';
      out.push(
        `  [${kind}] ${e.source} | "${e.column}": expected ${e.expected ?? '-'}, got ${e.got ?? '-'} (${e.confidence.toFixed(2)}; ${e.reason})`,
      );
    }
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Languages other than English

export interface LanguageHeaderSet {
  source: string;
  reference: string;
  /** The import template whose fields the row is mapped to. */
  template: string;
  headers: string[];
  labels: Record<string, string | null>;
  /** Gathered after the vocabulary was frozen, from pages not used to write it. */
  heldOut?: boolean;
}

export interface LanguageHeaderFixture {
  note: string;
  language: string;
  entries: LanguageHeaderSet[];
}

export interface LanguageMeasurement extends MappingCounts {
  language: string;
  /** Labelled columns whose header, normalized, is word for word a vocabulary phrase of its field. */
  verbatim: number;
  /** The held-out entries alone. */
  heldOut: MappingCounts;
}

export const I18N_FIXTURE_DIR = new URL('../test/fixtures/hr-headers-i18n/', import.meta.url);

export function loadLanguageFixtures(dir: URL = I18N_FIXTURE_DIR): LanguageHeaderFixture[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const fixture = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as LanguageHeaderFixture;
      for (const entry of fixture.entries) {
        const template = templates.byId(entry.template);
        if (template?.direction !== 'import')
          throw new Error(`${f}: ${entry.source}: no import template ${entry.template}`);
        const ids = new Set(template.fields.map((x) => x.id));
        if (new Set(entry.headers).size !== entry.headers.length)
          throw new Error(`${f}: ${entry.source}: duplicate header`);
        for (const header of entry.headers) {
          if (!Object.hasOwn(entry.labels, header)) throw new Error(`${f}: ${entry.source}: no label for "${header}"`);
        }
        const used = new Set<string>();
        for (const [header, label] of Object.entries(entry.labels)) {
          if (!entry.headers.includes(header))
            throw new Error(`${f}: ${entry.source}: label for unknown header "${header}"`);
          if (label === null) continue;
          if (!ids.has(label)) throw new Error(`${f}: ${entry.source}: ${entry.template} has no field "${label}"`);
          if (used.has(label)) throw new Error(`${f}: ${entry.source}: "${label}" labels two columns`);
          used.add(label);
        }
      }
      return fixture;
    });
}

function isVerbatim(header: string, field: string, language: string): boolean {
  const vocabulary = VOCABULARIES.find((v) => v.language === language);
  const key = headerTokens(header, { language }).join(' ');
  return (vocabulary?.fields[field]?.phrases ?? []).some((p) => headerTokens(p.phrase, { language }).join(' ') === key);
}

export function measureLanguages(options: { fixtures?: LanguageHeaderFixture[]; threshold?: number } = {}): {
  languages: LanguageMeasurement[];
  errors: MappingError[];
} {
  const fixtures = options.fixtures ?? loadLanguageFixtures();
  const errors: MappingError[] = [];
  const languages = fixtures.map((fixture) => {
    const c: LanguageMeasurement = {
      ...emptyCounts(),
      language: fixture.language,
      verbatim: 0,
      heldOut: emptyCounts(),
    };
    for (const entry of fixture.entries) {
      const counts = entry.heldOut ? [c, c.heldOut] : [c];
      for (const x of counts) x.headers++;
      const fields = mappableFields(templates.byId(entry.template)!);
      const suggestions = suggestMapping(
        entry.headers,
        fields,
        options.threshold === undefined ? {} : { threshold: options.threshold },
      );
      suggestions.forEach((s, i) => {
        const header = entry.headers[i]!;
        const expected = entry.labels[header] ?? null;
        const got = s.field ?? null;
        for (const x of counts) {
          x.columns++;
          if (expected !== null) x.labelled++;
          if (got !== null) x.assigned++;
          if (got !== null && got === expected) x.correct++;
        }
        if (expected !== null && isVerbatim(header, expected, fixture.language)) c.verbatim++;
        if (got !== expected) {
          errors.push({
            source: `${fixture.language}: ${entry.source}`,
            column: s.column,
            expected,
            got,
            confidence: s.confidence,
            reason: s.reason,
          });
        }
      });
    }
    finish(c);
    finish(c.heldOut);
    return c;
  });
  return { languages, errors };
}

/** Precision and recall per language, English (the labelled set of hr-headers.json) first. */
export function formatLanguageReport(
  english: SmartMappingMeasurement,
  m: { languages: LanguageMeasurement[]; errors: MappingError[] },
  options: { errors?: boolean } = {},
): string {
  const rows: string[][] = [
    [
      'language',
      'sets',
      'columns',
      'labelled',
      'assigned',
      'correct',
      'precision',
      'recall',
      'verbatim',
      'held-out sets',
      'held-out precision',
      'held-out recall',
    ],
    [
      'en',
      ...[english.headers, english.columns, english.labelled, english.assigned, english.correct].map(String),
      pct(english.precision),
      pct(english.recall),
      '-',
      '-',
      '-',
      '-',
    ],
  ];
  for (const c of m.languages) {
    rows.push([
      c.language,
      ...[c.headers, c.columns, c.labelled, c.assigned, c.correct].map(String),
      pct(c.precision),
      pct(c.recall),
      c.labelled === 0 ? '-' : pct(c.verbatim / c.labelled),
      String(c.heldOut.headers),
      c.heldOut.headers === 0 ? '-' : pct(c.heldOut.precision),
      c.heldOut.headers === 0 ? '-' : pct(c.heldOut.recall),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out = [
    'smart mapping per language (verbatim: labelled headers that are word for word a vocabulary phrase of their field;',
    'held-out: header rows gathered after the vocabulary was frozen, from pages not used to write it)',
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ];
  if (options.errors) {
    out.push('', `${m.errors.length} columns differ from their label:`);
    for (const e of m.errors) {
      const kind = e.got === null ? 'missed' : e.expected === null ? 'false positive' : 'wrong field';
      out.push(
        `  [${kind}] ${e.source} | "${e.column}": expected ${e.expected ?? '-'}, got ${e.got ?? '-'} (${e.confidence.toFixed(2)}; ${e.reason})`,
      );
    }
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const errors = process.argv.includes('--errors');
  const english = measureSmartMapping();
  console.log(formatSmartMappingReport(english, { errors }));
  console.log('');
  console.log(formatLanguageReport(english, measureLanguages(), { errors }));
}
