/**
 * The smart-mapping vocabulary: how HR systems name the import templates' fields, one data file per language in
 * schemas/vocabulary/<lang>.json. The scorer (smart-mapping.ts) knows no field ids and no words of any language:
 * everything it matches comes from here, and everything here names where it comes from (`sources`).
 *
 * A file holds: the field phrases (`fields.<fieldId>.phrases`: [phrase, weight 0..1, source key, options?]); words
 * that change what an extra word next to a phrase does (`words`: neutral, demoting, otherEntity, attribute,
 * dateQualifier, identifier, common); abbreviations, multi-word rewrites and stop words; for languages that glue
 * words (German, Dutch) the parts compounds are split into and the linking letters between them; the typical cell
 * values (`values.words`) and value shapes (`values.shapes`: email, phone, countryCode, currencyCode...) of a field.
 * Checked when loaded: a malformed file fails at start-up, not at the first suggestion.
 */
import de from '../../../schemas/vocabulary/de.json' with { type: 'json' };
import en from '../../../schemas/vocabulary/en.json' with { type: 'json' };
import es from '../../../schemas/vocabulary/es.json' with { type: 'json' };
import fr from '../../../schemas/vocabulary/fr.json' with { type: 'json' };
import nl from '../../../schemas/vocabulary/nl.json' with { type: 'json' };
import pt from '../../../schemas/vocabulary/pt.json' with { type: 'json' };
import { isRecord } from '../guards.ts';

/** Value shapes a column's samples can have (see smart-mapping.ts, Samples). */
export const VALUE_SHAPES = ['email', 'date', 'phone', 'countryCode', 'currencyCode', 'honorific'] as const;
export type ValueShape = (typeof VALUE_SHAPES)[number];

export interface VocabularyPhrase {
  phrase: string;
  weight: number;
  source: string;
  /** Field ids another column of the same header row must be suggested for ("Nom" is the last name beside "Prénom"). */
  with?: string[];
}

export interface FieldWords {
  phrases: VocabularyPhrase[];
  /** Words that, next to a phrase, make the column about something else ("Marital Status", "Geburtsname"). */
  negatives: string[];
  /** Typical cell values, compared case-insensitively. */
  valueWords: string[];
  valueShapes: ValueShape[];
  notShapes: ValueShape[];
}

export interface WordClasses {
  /** Qualifiers that leave the meaning ("Primary Work Email", "Geschäftliche E-Mail"). */
  neutral: string[];
  /** Qualifiers that make a weaker candidate of the same kind ("Personal Email", "E-mail privé"). */
  demoting: string[];
  /** Words that make the column about another person or thing ("Manager", "Vorgesetzter", "responsable"). */
  otherEntity: string[];
  /** Words that make the column an attribute of the thing ("Type", "Art", "tipo"). */
  attribute: string[];
  /** Attribute words a date field accepts ("Date", "Datum", "fecha"). */
  dateQualifier: string[];
  /** Words that make the column an identifier or code ("Code", "Nummer", "código"). */
  identifier: string[];
  /** Further known words, for splitting glued words and for recognising the language of a header. */
  common: string[];
}

export interface Vocabulary {
  language: string;
  name: string;
  sources: Record<string, string>;
  abbreviations: Record<string, string>;
  rewrites: [from: string[], to: string[]][];
  stopWords: string[];
  /** Two-letter pieces a glued word may contain ("EMPID"); other short pieces split too eagerly. */
  shortPieces: string[];
  words: WordClasses;
  /** Compound splitting: known parts, and the letters that may join two parts ("Eintritt-s-datum"). */
  compounds?: { parts: string[]; linking: string[]; umlautDigraphs: boolean };
  fields: Record<string, FieldWords>;
}

function fail(language: string, message: string): never {
  throw new Error(`schemas/vocabulary/${language}.json: ${message}`);
}

function strings(language: string, v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.trim() === '')) {
    fail(language, `${where} must be a list of non-empty strings`);
  }
  return v as string[];
}

function shapes(language: string, v: unknown, where: string): ValueShape[] {
  const list = strings(language, v, where);
  for (const s of list) {
    if (!(VALUE_SHAPES as readonly string[]).includes(s)) fail(language, `${where}: unknown value shape "${s}"`);
  }
  return list as ValueShape[];
}

/** Checks one vocabulary document and resolves its `@set` references and `sameAs` fields. */
export function parseVocabulary(doc: unknown): Vocabulary {
  if (!isRecord(doc) || typeof doc.language !== 'string') throw new Error('a vocabulary needs a language');
  const language = doc.language;
  if (typeof doc.name !== 'string') fail(language, 'name must be a string');
  if (!isRecord(doc.sources)) fail(language, 'sources must be an object');
  const sources = doc.sources as Record<string, string>;
  const sets = isRecord(doc.sets) ? doc.sets : {};
  const expand = (list: string[], where: string): string[] =>
    list.flatMap((w) => {
      if (!w.startsWith('@')) return [w];
      const set = sets[w.slice(1)];
      if (set === undefined) fail(language, `${where}: unknown set ${w}`);
      return strings(language, set, `sets.${w.slice(1)}`);
    });
  const words = isRecord(doc.words) ? doc.words : {};
  const classes: WordClasses = {
    neutral: strings(language, words.neutral, 'words.neutral'),
    demoting: strings(language, words.demoting, 'words.demoting'),
    otherEntity: strings(language, words.otherEntity, 'words.otherEntity'),
    attribute: strings(language, words.attribute, 'words.attribute'),
    dateQualifier: strings(language, words.dateQualifier, 'words.dateQualifier'),
    identifier: strings(language, words.identifier, 'words.identifier'),
    common: strings(language, words.common, 'words.common'),
  };
  const abbreviations = isRecord(doc.abbreviations) ? doc.abbreviations : {};
  for (const [k, v] of Object.entries(abbreviations)) {
    if (typeof v !== 'string' || v.trim() === '') fail(language, `abbreviation ${k} must expand to words`);
  }
  const rewrites = (Array.isArray(doc.rewrites) ? doc.rewrites : []).map((r, i) => {
    if (!Array.isArray(r) || r.length !== 2) fail(language, `rewrites[${i}] must be [from words, to words]`);
    return [strings(language, r[0], `rewrites[${i}]`), strings(language, r[1], `rewrites[${i}]`)] as [
      string[],
      string[],
    ];
  });
  let compounds: Vocabulary['compounds'];
  if (doc.compounds !== undefined) {
    if (!isRecord(doc.compounds)) fail(language, 'compounds must be an object');
    compounds = {
      parts: strings(language, doc.compounds.parts, 'compounds.parts'),
      linking: strings(language, doc.compounds.linking, 'compounds.linking'),
      umlautDigraphs: doc.compounds.umlautDigraphs === true,
    };
  }
  const rawFields = isRecord(doc.fields) ? doc.fields : fail(language, 'fields must be an object');
  const fields: Record<string, FieldWords> = {};
  const resolve = (id: string, seen: string[]): FieldWords => {
    const done = fields[id];
    if (done) return done;
    const raw = rawFields[id];
    if (!isRecord(raw)) fail(language, `fields.${id} must be an object`);
    if (seen.includes(id)) fail(language, `fields.${id}: sameAs cycle`);
    const base = typeof raw.sameAs === 'string' ? resolve(raw.sameAs, [...seen, id]) : undefined;
    const phrases: VocabularyPhrase[] = (Array.isArray(raw.phrases) ? raw.phrases : []).map((p, i) => {
      const where = `fields.${id}.phrases[${i}]`;
      if (!Array.isArray(p) || typeof p[0] !== 'string' || typeof p[1] !== 'number' || typeof p[2] !== 'string') {
        fail(language, `${where} must be [phrase, weight, source]`);
      }
      const [phrase, weight, source, options] = p as [string, number, string, unknown];
      if (!(weight > 0 && weight <= 1)) fail(language, `${where}: weight must be in (0, 1]`);
      if (!Object.hasOwn(sources, source)) fail(language, `${where}: unknown source "${source}"`);
      const out: VocabularyPhrase = { phrase, weight, source };
      if (options !== undefined) {
        if (!isRecord(options)) fail(language, `${where}: options must be an object`);
        if (options.with !== undefined) out.with = strings(language, options.with, `${where}.with`);
      }
      return out;
    });
    const values = isRecord(raw.values) ? raw.values : {};
    const words: FieldWords = {
      phrases: [...(base?.phrases ?? []), ...phrases],
      negatives: [
        ...(base?.negatives ?? []),
        ...expand(strings(language, raw.negatives, `fields.${id}.negatives`), id),
      ],
      valueWords: [...(base?.valueWords ?? []), ...strings(language, values.words, `fields.${id}.values.words`)],
      valueShapes: [...(base?.valueShapes ?? []), ...shapes(language, values.shapes, `fields.${id}.values.shapes`)],
      notShapes: [...(base?.notShapes ?? []), ...shapes(language, values.notShapes, `fields.${id}.values.notShapes`)],
    };
    fields[id] = words;
    return words;
  };
  for (const id of Object.keys(rawFields)) resolve(id, []);
  return {
    language,
    name: doc.name as string,
    sources,
    abbreviations: abbreviations as Record<string, string>,
    rewrites,
    stopWords: strings(language, doc.stopWords, 'stopWords'),
    shortPieces: strings(language, doc.shortPieces, 'shortPieces'),
    words: classes,
    ...(compounds ? { compounds } : {}),
    fields,
  };
}

/** Every language smart mapping reads headers in; English first (it also holds the templates' own names). */
export const VOCABULARIES: readonly Vocabulary[] = [en, de, fr, es, pt, nl].map(parseVocabulary);
