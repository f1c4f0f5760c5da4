/**
 * Smart mapping: suggests which template field each column of a customer's HR file feeds, for headers in any
 * language of the vocabulary (schemas/vocabulary/<lang>.json, read by `vocabulary.ts`).
 *
 * Each header is read in every language: folded (accents, case, "Nº"), split into words (punctuation, camelCase,
 * glued words, German and Dutch compounds with their linking letters), abbreviations expanded, then matched against
 * each field's phrases in that language (and, in English, the template's own title, id and aliases): a whole-header
 * match first, then a phrase inside a longer header with the extra words judged (neutral qualifiers, weaker
 * variants, words that make it about another person or another attribute), then fuzzy token similarity as a
 * low-confidence fallback. A header row is in one language, mostly: where a column's words are known in the row's
 * main language, a reading in another language loses confidence (so "Name" beside "Vorname" is German). Phrases
 * that depend on a neighbour ("Nom" is the last name beside "Prénom") count only when it is there. Optional sample
 * rows nudge the scores (emails, dates, phone numbers, ISO country and currency codes, typical words). Finally
 * fields are assigned globally, best confidence first, so one field feeds at most one column. The scorer knows no
 * field ids and no words: those are the vocabulary's. Pure: no I/O, no clock.
 */

import { isAssignedCountryCode } from './countries.ts';
import { foldAccents } from './fold-text.ts';
import { type ValueShape, VOCABULARIES, type Vocabulary, type VocabularyPhrase } from './vocabulary.ts';

export interface MappableField {
  id: string;
  title: string;
  aliases?: string[];
  required?: boolean;
  type?: 'string' | 'date' | 'email' | 'enum' | 'number';
}

export interface ColumnSuggestion {
  column: string;
  /** The suggested field id; absent when no field reaches the threshold or the field went to a better column. */
  field?: string;
  /** 0..1; for a column without a field, the best candidate's confidence (0 when there was none). */
  confidence: number;
  /** Why, for people: 'exact title', 'synonym: worker id', 'synonym (de): eintrittsdatum', ... */
  reason: string;
}

export interface SuggestMappingOptions {
  /** Minimum confidence for a suggestion; default 0.6. */
  threshold?: number;
  /** Optional sample rows, cells in header order. */
  samples?: string[][];
}

export const DEFAULT_THRESHOLD = 0.6;

const SINGLE_TOKEN_UNKNOWN_PENALTY = 0.35;
const UNKNOWN_PENALTY = 0.12;
const NEUTRAL_PENALTY = 0.03;
const DEMOTING_PENALTY = 0.2;
const IDENTIFIER_PENALTY = 0.25;
const DIGIT_PENALTY = 0.05;
const SIMILARITY_FACTOR = 0.8;
const SIMILARITY_CAP = 0.8;
const ALIAS_WEIGHT = 0.98;
/** At most this much is taken from a reading in a language the rest of the header row is not written in. */
const LANGUAGE_PENALTY = 0.5;
/** Below this, a similarity found in a language other than English is noise, not a candidate. */
const FOREIGN_SIMILARITY_FLOOR = 0.3;

// ---------------------------------------------------------------------------------------------------------------
// Lexicons: a vocabulary made ready for matching

interface Lexicon {
  language: string;
  name: string;
  english: boolean;
  /** Words a glued word may be split into. */
  atoms: ReadonlySet<string>;
  /** Every word the language knows (for recognising the language of a header). */
  known: ReadonlySet<string>;
  abbreviations: Readonly<Record<string, string>>;
  rewrites: readonly [readonly string[], readonly string[]][];
  stopWords: ReadonlySet<string>;
  shortPieces: ReadonlySet<string>;
  linking: readonly string[];
  umlautDigraphs: boolean;
  neutral: ReadonlySet<string>;
  demoting: ReadonlySet<string>;
  otherEntity: ReadonlySet<string>;
  attribute: ReadonlySet<string>;
  dateQualifier: ReadonlySet<string>;
  identifier: ReadonlySet<string>;
  vocabulary: Vocabulary;
}

/** Splits a raw header or name into folded lower-case words (no abbreviation handling yet). */
function rawWords(raw: string, dropBracketed: boolean): string[] {
  let s = foldAccents(raw.replace(/^\uFEFF/, ''));
  // Annotations such as "[Required]" or "[givenName]" (Google, Entra templates) are not part of the name.
  const withoutSquare = s.replace(/\[[^\]]*\]/g, ' ');
  if (/[\p{L}\p{N}]/u.test(withoutSquare)) s = withoutSquare;
  if (dropBracketed) {
    const withoutRound = s.replace(/\([^)]*\)/g, ' ');
    if (/[\p{L}\p{N}]/u.test(withoutRound)) s = withoutRound;
  }
  s = s
    .replace(/['’`]s\b/gi, '')
    // Elision ("Date d'entrée", "l'adresse"): the article is a word of its own.
    .replace(/\b(d|l|qu)['’`](?=\p{L})/giu, '$1 ')
    .replace(/['’`]/g, '')
    .replace(/#/g, ' number ')
    .replace(/&/g, ' and ')
    .replace(/%/g, ' percent ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])(\d)/g, '$1 $2')
    .replace(/(\d)([A-Za-z])/g, '$1 $2')
    .toLowerCase();
  const words = s.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);
  // "D.O.B." -> "dob", "M.I." -> "mi": runs of single letters are one word.
  const joined: string[] = [];
  let run = '';
  for (const w of words) {
    if (w.length === 1 && /\p{L}/u.test(w)) {
      run += w;
      continue;
    }
    if (run) joined.push(run);
    run = '';
    joined.push(w);
  }
  if (run) joined.push(run);
  return joined;
}

/**
 * "Centers" -> "center", "Apellidos" -> "apellido"; abbreviations and stop words ending in s stay. English keeps its
 * known words (status, pers); the other languages always drop the s, on headers and phrases alike.
 */
function singular(word: string, lex: Lexicon): string {
  if (word.length <= 3 || !word.endsWith('s') || /(ss|us|is)$/.test(word)) return word;
  if (Object.hasOwn(lex.abbreviations, word) || lex.stopWords.has(word)) return word;
  if (lex.english && lex.atoms.has(word)) return word;
  return word.slice(0, -1);
}

/** Work done by `segmentWord`: one step per vocabulary lookup (tests bound it). */
export interface SegmentWork {
  steps: number;
}

export interface SegmentOptions {
  /** Letters that may join two parts of a compound ("Eintritt-s-datum", "personeel-s-nummer"). */
  linking?: readonly string[];
  /** Two-letter pieces allowed; default id and no. */
  shortPieces?: ReadonlySet<string>;
}

const DEFAULT_SHORT_PIECES: ReadonlySet<string> = new Set(['id', 'no']);

/**
 * Splits a glued word into known words ("hiredate" -> hire date, "eintrittsdatum" -> eintritt datum), fewest
 * pieces first (ties: the split whose last piece starts earliest); undefined if it cannot. A linking letter may
 * follow a piece that is not the last. A piece is never longer than the longest vocabulary word, so the work is at
 * most (word length x that length) lookups: linear in the word, whatever a request sends.
 */
export function segmentWord(
  word: string,
  vocabulary: ReadonlySet<string> = ENGLISH.atoms,
  work?: SegmentWork,
  options: SegmentOptions = {},
): string[] | undefined {
  const n = word.length;
  const longest = longestWordOf(vocabulary);
  const short = options.shortPieces ?? DEFAULT_SHORT_PIECES;
  const linking = options.linking ?? [];
  // pieces[i]: fewest pieces covering word[0, i) ending with a piece (-1: none); linked[i]: the same ending with a
  // linking letter. from/linkedFrom: where that last piece (or linking letter) starts.
  const pieces = new Int32Array(n + 1).fill(-1);
  const linked = new Int32Array(n + 1).fill(-1);
  const from = new Int32Array(n + 1);
  const fromLinked = new Uint8Array(n + 1);
  const linkedFrom = new Int32Array(n + 1);
  pieces[0] = 0;
  for (let end = 2; end <= n; end++) {
    for (let start = Math.max(0, end - longest); start <= end - 2; start++) {
      const before = pieces[start]!;
      const viaLink = start > 0 ? linked[start]! : -1;
      if (before < 0 && viaLink < 0) continue;
      if (work) work.steps++;
      const piece = word.slice(start, end);
      if (!vocabulary.has(piece) || (piece.length < 3 && !short.has(piece))) continue;
      const useLink = before < 0 || (viaLink >= 0 && viaLink < before);
      const count = (useLink ? viaLink : before) + 1;
      if (pieces[end]! < 0 || count < pieces[end]!) {
        pieces[end] = count;
        from[end] = start;
        fromLinked[end] = useLink ? 1 : 0;
      }
    }
    if (pieces[end]! > 0 && end < n) {
      for (const l of linking) {
        const to = end + l.length;
        if (to < n && word.startsWith(l, end) && (linked[to]! < 0 || pieces[end]! < linked[to]!)) {
          linked[to] = pieces[end]!;
          linkedFrom[to] = end;
        }
      }
    }
  }
  if (pieces[n]! <= 1) return undefined;
  const out: string[] = [];
  let end = n;
  while (end > 0) {
    const start = from[end]!;
    out.push(word.slice(start, end));
    end = fromLinked[end] ? linkedFrom[start]! : start;
  }
  return out.reverse();
}

const longestWords = new WeakMap<ReadonlySet<string>, number>();

function longestWordOf(vocabulary: ReadonlySet<string>): number {
  let longest = longestWords.get(vocabulary);
  if (longest === undefined) {
    longest = 0;
    for (const w of vocabulary) longest = Math.max(longest, w.length);
    longestWords.set(vocabulary, longest);
  }
  return longest;
}

function applyRewrites(tokens: string[], lex: Lexicon): string[] {
  let out = tokens;
  for (const [from, to] of lex.rewrites) {
    const next: string[] = [];
    for (let i = 0; i < out.length; i++) {
      if (from.every((w, k) => out[i + k] === w)) {
        next.push(...to);
        i += from.length - 1;
      } else {
        next.push(out[i]!);
      }
    }
    out = next;
  }
  return out;
}

function expandWord(word: string, lex: Lexicon): string[] {
  const expansion = lex.abbreviations[word];
  return expansion === undefined ? [word] : expansion.split(' ');
}

function segmentIn(word: string, lex: Lexicon): string[] | undefined {
  return segmentWord(word, lex.atoms, undefined, { linking: lex.linking, shortPieces: lex.shortPieces });
}

function finishTokens(words: string[], lex: Lexicon): string[] {
  const out: string[] = [];
  for (const raw of words) {
    let word = singular(raw, lex);
    const known = (w: string) => lex.atoms.has(w) || Object.hasOwn(lex.abbreviations, w) || lex.stopWords.has(w);
    if (lex.umlautDigraphs && !known(word) && /ae|oe|ue/.test(word)) {
      // "Geschaeftliche" is "Geschäftliche" written without umlauts.
      const plain = singular(raw.replace(/ae/g, 'a').replace(/oe/g, 'o').replace(/ue/g, 'u'), lex);
      if (known(plain) || segmentIn(plain, lex)) word = plain;
    }
    if (word.length >= 4 && !known(word) && /^\p{L}+$/u.test(word)) {
      const pieces = segmentIn(word, lex);
      if (pieces) {
        for (const p of pieces) out.push(...expandWord(p, lex));
        continue;
      }
    }
    out.push(...expandWord(word, lex));
  }
  const rewritten = applyRewrites(
    out.map((t) => singular(t, lex)),
    lex,
  );
  return rewritten.filter((t) => !lex.stopWords.has(t));
}

function buildLexicon(vocabulary: Vocabulary): Lexicon {
  const english = vocabulary.language === 'en';
  const stopWords = new Set(vocabulary.stopWords.flatMap((w) => rawWords(w, false)));
  const abbreviations: Record<string, string> = {};
  for (const [abbr, full] of Object.entries(vocabulary.abbreviations)) {
    abbreviations[rawWords(abbr, false).join('')] = rawWords(full, false).join(' ');
  }
  const lex: Lexicon = {
    language: vocabulary.language,
    name: vocabulary.name,
    english,
    atoms: new Set(),
    known: new Set(),
    abbreviations,
    rewrites: vocabulary.rewrites,
    stopWords,
    shortPieces: new Set(vocabulary.shortPieces.length > 0 ? vocabulary.shortPieces : DEFAULT_SHORT_PIECES),
    linking: vocabulary.compounds?.linking ?? [],
    umlautDigraphs: vocabulary.compounds?.umlautDigraphs ?? false,
    neutral: new Set(),
    demoting: new Set(),
    otherEntity: new Set(),
    attribute: new Set(),
    dateQualifier: new Set(),
    identifier: new Set(),
    vocabulary,
  };
  // Plain words (no abbreviations, no splitting): the language's own spelling, singular where it drops an s.
  const plain = (text: string) => rawWords(text, false).map((w) => (english ? w : singular(w, lex)));
  const v = new Set<string>();
  const add = (text: string) => {
    for (const w of plain(text)) v.add(w);
  };
  for (const field of Object.values(vocabulary.fields)) {
    for (const p of field.phrases) add(p.phrase);
    for (const n of field.negatives) add(n);
  }
  for (const [abbr, full] of Object.entries(abbreviations)) {
    if (abbr.length >= 2) v.add(abbr);
    add(full);
  }
  const w = vocabulary.words;
  const classes = [w.neutral, w.demoting, w.otherEntity, w.attribute, w.dateQualifier, w.identifier, w.common];
  for (const list of classes) for (const word of list) add(word);
  for (const part of vocabulary.compounds?.parts ?? []) add(part);
  for (const s of stopWords) v.delete(s);
  const atoms = new Set(v);
  if (vocabulary.compounds) {
    // A compound of known parts is not a part itself: "personalnummer" is split, so "Personal-Nr." meets it.
    for (const word of [...v].sort((a, b) => b.length - a.length)) {
      if (word.length < 7) continue;
      atoms.delete(word);
      if (!segmentWord(word, atoms, undefined, { linking: lex.linking, shortPieces: lex.shortPieces })) atoms.add(word);
    }
  }
  (lex as { atoms: ReadonlySet<string> }).atoms = atoms;
  const token = (list: readonly string[]) => new Set(list.flatMap((x) => finishTokens(rawWords(x, false), lex)));
  Object.assign(lex, {
    neutral: token(w.neutral),
    demoting: token(w.demoting),
    otherEntity: token(w.otherEntity),
    attribute: token(w.attribute),
    dateQualifier: token(w.dateQualifier),
    identifier: token(w.identifier),
  });
  const known = new Set<string>(atoms);
  for (const word of v) for (const t of finishTokens([word], lex)) known.add(t);
  for (const t of Object.values(abbreviations)) for (const x of t.split(' ')) known.add(x);
  (lex as { known: ReadonlySet<string> }).known = known;
  return lex;
}

const LEXICONS: readonly Lexicon[] = VOCABULARIES.map(buildLexicon);
const ENGLISH: Lexicon = LEXICONS.find((l) => l.english) ?? LEXICONS[0]!;

function tokensIn(raw: string, lex: Lexicon, dropParenthesized = false): string[] {
  return finishTokens(rawWords(raw, dropParenthesized), lex);
}

/** The canonical English word tokens of a header or field name: "Manager's E-mail" -> ["manager", "email"]. */
export function headerTokens(raw: string, options: { dropParenthesized?: boolean; language?: string } = {}): string[] {
  const lex = LEXICONS.find((l) => l.language === (options.language ?? 'en')) ?? ENGLISH;
  return tokensIn(raw, lex, options.dropParenthesized ?? false);
}

/** The canonical form of a header: its tokens joined by single spaces ("EMP_NO" -> "employee number"). */
export function normalizeHeader(raw: string, language = 'en'): string {
  return headerTokens(raw, { language }).join(' ');
}

/** The languages smart mapping reads, as [code, name] pairs. */
export function mappingLanguages(): [code: string, name: string][] {
  return LEXICONS.map((l) => [l.language, l.name]);
}

// ---------------------------------------------------------------------------------------------------------------
// Similarity

/** Jaro-Winkler similarity of two strings, 0..1. */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1);
  const aMatched = new Array<boolean>(a.length).fill(false);
  const bMatched = new Array<boolean>(b.length).fill(false);
  let matches = 0;
  for (let i = 0; i < a.length; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(b.length - 1, i + window);
    for (let j = from; j <= to; j++) {
      if (bMatched[j] || a[i] !== b[j]) continue;
      aMatched[i] = true;
      bMatched[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (!aMatched[i]) continue;
    while (!bMatched[k]) k++;
    if (a[i] !== b[k]) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / a.length + m / b.length + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

function tokenSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 4 || b.length < 4) return 0;
  const s = jaroWinkler(a, b);
  return s >= 0.9 ? s : 0;
}

/** Dice coefficient over tokens where near-identical tokens (typos) count by their similarity. */
function fuzzyDice(header: readonly string[], phrase: readonly string[]): { score: number; headerCovered: boolean } {
  const used = new Array<boolean>(header.length).fill(false);
  let total = 0;
  for (const p of phrase) {
    let best = 0;
    let bestIndex = -1;
    header.forEach((h, i) => {
      if (used[i]) return;
      const s = tokenSimilarity(h, p);
      if (s > best) {
        best = s;
        bestIndex = i;
      }
    });
    if (bestIndex >= 0) {
      used[bestIndex] = true;
      total += best;
    }
  }
  return { score: (2 * total) / (header.length + phrase.length), headerCovered: used.every(Boolean) };
}

function bigrams(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length - 1; i++) out.push(s.slice(i, i + 2));
  return out;
}

/** Dice coefficient over character bigrams, for glued words with typos ("EMAILADRESS"). */
function bigramDice(a: string, b: string): number {
  const x = bigrams(a);
  const y = bigrams(b);
  if (x.length === 0 || y.length === 0) return 0;
  const pool = new Map<string, number>();
  for (const g of y) pool.set(g, (pool.get(g) ?? 0) + 1);
  let common = 0;
  for (const g of x) {
    const n = pool.get(g) ?? 0;
    if (n > 0) {
      common++;
      pool.set(g, n - 1);
    }
  }
  return (2 * common) / (x.length + y.length);
}

// ---------------------------------------------------------------------------------------------------------------
// Field profiles: a field's names in each language

type PhraseKind = 'title' | 'id' | 'alias' | 'synonym';

interface Phrase {
  /** As written, for reasons. */
  label: string;
  tokens: string[];
  key: string;
  compact: string;
  weight: number;
  kind: PhraseKind;
  /** Fields another column must be suggested for before this phrase counts. */
  with?: readonly string[];
}

type FieldKind = 'email' | 'date' | 'other';

/** A field read in one language. */
interface Reading {
  lex: Lexicon;
  phrases: Phrase[];
  /** Every token of every phrase: extra words from this set are not foreign to the field. */
  vocabulary: Set<string>;
  negatives: Set<string>;
}

interface FieldProfile {
  field: MappableField;
  index: number;
  kind: FieldKind;
  readings: Reading[];
  valueHints: Set<string>;
  valueShapes: Set<ValueShape>;
  notShapes: Set<ValueShape>;
}

function compactKey(s: string): string {
  return foldAccents(s)
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

/** The vocabulary entry of a field: by id, else (templates written elsewhere: "employee_id") by id, title or alias. */
function vocabularyKey(field: MappableField): string | undefined {
  if (LEXICONS.some((l) => Object.hasOwn(l.vocabulary.fields, field.id))) return field.id;
  const fields = ENGLISH.vocabulary.fields;
  const wanted = new Set([compactKey(field.id), compactKey(field.title), ...(field.aliases ?? []).map(compactKey)]);
  for (const id of Object.keys(fields)) if (wanted.has(compactKey(id))) return id;
  for (const [id, vocab] of Object.entries(fields)) {
    const first = vocab.phrases[0];
    if (first && wanted.has(compactKey(first.phrase))) return id;
  }
  return undefined;
}

function inferKind(field: MappableField): FieldKind {
  if (field.type === 'email') return 'email';
  if (field.type === 'date') return 'date';
  if (field.type) return 'other';
  const words = `${headerTokens(field.id).join(' ')} ${headerTokens(field.title).join(' ')}`;
  if (/\bemail\b/.test(words)) return 'email';
  if (/\b(date|birth|birthday)\b/.test(words)) return 'date';
  return 'other';
}

function buildReading(field: MappableField, key: string | undefined, lex: Lexicon): Reading | undefined {
  const vocab = key === undefined ? undefined : lex.vocabulary.fields[key];
  const phrases = new Map<string, Phrase>();
  const add = (label: string, weight: number, kind: PhraseKind, needs?: readonly string[]) => {
    const tokens = tokensIn(label, lex);
    if (tokens.length === 0) return;
    const key = tokens.join(' ');
    const existing = phrases.get(key);
    if (existing && existing.weight >= weight && !(existing.with && !needs)) return;
    phrases.set(key, { label, tokens, key, compact: tokens.join(''), weight, kind, ...(needs ? { with: needs } : {}) });
  };
  for (const p of vocab?.phrases ?? ([] as VocabularyPhrase[])) add(p.phrase, p.weight, 'synonym', p.with);
  if (lex.english) {
    // An alias makes a name count; where the vocabulary already grades that name for this field ("Original Hire
    // Date" below "Hire Date" and "Start Date"), the vocabulary's weight keeps the order among the field's names.
    for (const alias of field.aliases ?? []) {
      const key = tokensIn(alias, lex).join(' ');
      const graded = phrases.get(key);
      if (graded) phrases.set(key, { ...graded, label: alias, kind: 'alias' });
      else add(alias, ALIAS_WEIGHT, 'alias');
    }
    add(field.id, 0.98, 'id');
    add(field.title, 1, 'title');
  }
  if (phrases.size === 0) return undefined;
  const list = [...phrases.values()];
  const vocabulary = new Set(list.flatMap((p) => p.tokens));
  const negatives = new Set((vocab?.negatives ?? []).flatMap((n) => tokensIn(n, lex)));
  for (const t of vocabulary) negatives.delete(t);
  return { lex, phrases: list, vocabulary, negatives };
}

function buildProfile(field: MappableField, index: number): FieldProfile {
  const key = vocabularyKey(field);
  const readings = LEXICONS.map((lex) => buildReading(field, key, lex)).filter((r): r is Reading => r !== undefined);
  // English words that make a column about something else keep that sense in any language ("Marital Status").
  const english = readings.find((r) => r.lex.english);
  for (const r of readings) {
    if (r === english || !english) continue;
    for (const n of english.negatives) if (!r.vocabulary.has(n)) r.negatives.add(n);
  }
  const valueHints = new Set<string>();
  const valueShapes = new Set<ValueShape>();
  const notShapes = new Set<ValueShape>();
  if (key !== undefined) {
    for (const lex of LEXICONS) {
      const vocab = lex.vocabulary.fields[key];
      for (const v of vocab?.valueWords ?? []) valueHints.add(foldAccents(v).toLowerCase());
      for (const s of vocab?.valueShapes ?? []) valueShapes.add(s);
      for (const s of vocab?.notShapes ?? []) notShapes.add(s);
    }
  }
  return { field, index, kind: inferKind(field), readings, valueHints, valueShapes, notShapes };
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring one column against one field in one language

interface HeaderVariant {
  tokens: string[];
  key: string;
  compact: string;
}

function headerVariants(header: string, lex: Lexicon): HeaderVariant[] {
  const variants: HeaderVariant[] = [];
  for (const dropParenthesized of [false, true]) {
    const tokens = tokensIn(header, lex, dropParenthesized);
    const key = tokens.join(' ');
    if (tokens.length > 0 && !variants.some((v) => v.key === key)) {
      variants.push({ tokens, key, compact: tokens.join('') });
    }
  }
  return variants;
}

/** Tokens of `header` left over once `phrase` is taken out, or undefined when the phrase is not inside. */
function extraTokens(header: readonly string[], phrase: readonly string[]): string[] | undefined {
  const rest = [...header];
  for (const p of phrase) {
    const i = rest.indexOf(p);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  return rest;
}

/** True when a header word means the column is about another person, another attribute, or another thing. */
function isForeign(token: string, reading: Reading, kind: FieldKind): boolean {
  const lex = reading.lex;
  if (reading.vocabulary.has(token)) return false;
  if (reading.negatives.has(token)) return true;
  if (lex.otherEntity.has(token)) return true;
  if (lex.attribute.has(token)) return !(kind === 'date' && lex.dateQualifier.has(token));
  // English words turn up in headers of every language ("E-Mail Manager", "Status Datum"): they keep their sense.
  if (!lex.english && !lex.neutral.has(token) && !lex.demoting.has(token)) {
    if (ENGLISH.otherEntity.has(token)) return true;
    if (ENGLISH.attribute.has(token)) return !(kind === 'date' && ENGLISH.dateQualifier.has(token));
  }
  return false;
}

function extrasPenalty(extras: readonly string[], reading: Reading, kind: FieldKind, phrase: Phrase) {
  const lex = reading.lex;
  let penalty = 0;
  for (const t of extras) {
    if (isForeign(t, reading, kind)) return undefined;
    if (lex.demoting.has(t)) penalty += DEMOTING_PENALTY;
    else if (lex.neutral.has(t)) penalty += NEUTRAL_PENALTY;
    // A word of another synonym of the same field ("Mobile" in "Mobile Phone") is not neutral: that synonym, if it
    // is the whole header, scores on its own weight; here it only must not block.
    else if (reading.vocabulary.has(t)) penalty += UNKNOWN_PENALTY;
    else if (lex.identifier.has(t)) penalty += IDENTIFIER_PENALTY;
    else if (/^\d+$/.test(t)) penalty += DIGIT_PENALTY;
    else if (kind === 'date' && lex.dateQualifier.has(t)) penalty += UNKNOWN_PENALTY;
    else penalty += phrase.tokens.length === 1 ? SINGLE_TOKEN_UNKNOWN_PENALTY : UNKNOWN_PENALTY;
  }
  return penalty;
}

function describeExact(phrase: Phrase, lex: Lexicon): string {
  switch (phrase.kind) {
    case 'title':
      return 'exact title';
    case 'id':
      return 'field id';
    case 'alias':
      return `alias: ${phrase.label}`;
    default:
      return `${synonymWord(lex)}: ${phrase.label.toLowerCase()}`;
  }
}

function synonymWord(lex: Lexicon): string {
  return lex.english ? 'synonym' : `synonym (${lex.language})`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

interface Scored {
  confidence: number;
  reason: string;
  with?: readonly string[];
}

function scoreReading(
  variants: readonly HeaderVariant[],
  reading: Reading,
  kind: FieldKind,
  conditional: boolean,
): Scored | undefined {
  let best: Scored | undefined;
  const lex = reading.lex;
  // Outside English, a header shares a word with one of the field's names or is not read as that field: this keeps
  // a thousand-column request from paying fuzzy matching six times over.
  if (!lex.english && !variants.some((v) => v.tokens.some((t) => reading.vocabulary.has(t)))) return undefined;
  const consider = (confidence: number, reason: string, phrase: Phrase) => {
    const c = round2(Math.max(0, Math.min(1, confidence)));
    if (!best || c > best.confidence) best = { confidence: c, reason, ...(phrase.with ? { with: phrase.with } : {}) };
  };
  for (const variant of variants) {
    for (const phrase of reading.phrases) {
      if (phrase.with && !conditional) continue;
      if (variant.key === phrase.key) {
        consider(phrase.weight, describeExact(phrase, lex), phrase);
        continue;
      }
      if (variant.compact === phrase.compact) {
        consider(phrase.weight - 0.02, describeExact(phrase, lex), phrase);
        continue;
      }
      const extras = extraTokens(variant.tokens, phrase.tokens);
      if (extras) {
        const penalty = extrasPenalty(extras, reading, kind, phrase);
        if (penalty !== undefined) {
          const base =
            phrase.kind === 'synonym'
              ? `${synonymWord(lex)}: ${phrase.label.toLowerCase()}`
              : `${phrase.kind} "${phrase.label}"`;
          consider(
            Math.min(phrase.weight - 0.01, phrase.weight - penalty),
            `${base} (with "${extras.join(' ')}")`,
            phrase,
          );
        }
        continue;
      }
      // Fallback: fuzzy similarity, never for a header naming another person or attribute.
      if (variant.tokens.some((t) => isForeign(t, reading, kind))) continue;
      const dice = fuzzyDice(variant.tokens, phrase.tokens);
      let similarity = dice.score;
      // A header that is only part of the phrase ("End Date" of "Employment End Date") says less than the phrase.
      if (dice.headerCovered && variant.tokens.length < phrase.tokens.length) similarity *= 0.75;
      const ratio =
        Math.min(variant.compact.length, phrase.compact.length) /
        Math.max(variant.compact.length, phrase.compact.length);
      if (ratio >= 0.85 && phrase.compact.length >= 6) {
        similarity = Math.max(similarity, bigramDice(variant.compact, phrase.compact) * 0.95);
      }
      if (similarity <= 0) continue;
      const confidence = Math.min(SIMILARITY_CAP, similarity * SIMILARITY_FACTOR * Math.min(1, phrase.weight + 0.05));
      if (!lex.english && confidence < FOREIGN_SIMILARITY_FLOOR) continue;
      consider(confidence, `similar to "${phrase.label}" (${round2(similarity).toFixed(2)})`, phrase);
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// The language of a header row

interface RowLanguage {
  /** The language most of the row's columns are written in. */
  main: Lexicon;
  /** 0..1 per language: its share of the row relative to the main language. */
  share: Map<Lexicon, number>;
  /** Per column, the languages that know every one of its words. */
  covering: Set<Lexicon>[];
}

/**
 * Each column votes for the languages that know all its words (split evenly among them): "Vorname" votes German,
 * "Email" votes for every language that has the word. Words of the fields' own names count as known.
 */
function rowLanguage(
  tokensPerColumn: readonly (readonly string[][])[],
  fieldWords: ReadonlyMap<Lexicon, Set<string>>,
): RowLanguage {
  const votes = new Map<Lexicon, number>(LEXICONS.map((l) => [l, 0]));
  const covering = tokensPerColumn.map((perLanguage) => {
    const set = new Set<Lexicon>();
    LEXICONS.forEach((lex, i) => {
      const tokens = (perLanguage[i] ?? []).filter((t) => !/^\d+$/.test(t));
      const known = fieldWords.get(lex);
      if (tokens.length > 0 && tokens.every((t) => lex.known.has(t) || known?.has(t))) set.add(lex);
    });
    for (const lex of set) votes.set(lex, votes.get(lex)! + 1 / set.size);
    return set;
  });
  let main = ENGLISH;
  for (const lex of LEXICONS) if (votes.get(lex)! > votes.get(main)!) main = lex;
  const top = votes.get(main)!;
  const share = new Map<Lexicon, number>(LEXICONS.map((l) => [l, top === 0 ? 1 : votes.get(l)! / top]));
  return { main, share, covering };
}

// ---------------------------------------------------------------------------------------------------------------
// Samples

interface ColumnShape {
  count: number;
  shapes: Record<ValueShape, number>;
  values: string[];
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE_RES = [
  /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$/,
  /^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$/,
  /^\d{1,2}[- ][A-Za-z]{3,9}[- ,]+\d{2,4}$/,
  /^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}$/,
  /^\d{8}$/,
  // "3. März 2024", "12 janv. 2024", "3 de marzo de 2024", "5 de março de 2023" (after folding).
  /^\d{1,2}\.? (de )?\p{L}{3,10}\.? (de )?\d{4}$/u,
];

/** Excel's day serials for 1954..2119, as dates saved without formatting come out. */
function isExcelSerialDate(v: string): boolean {
  if (!/^\d{5}(\.\d+)?$/.test(v)) return false;
  const n = Number(v);
  return n >= 20000 && n <= 80000;
}
const PHONE_RE = /^\+?[\d\s().-]{7,}$/;
const HONORIFIC_RE =
  /^(mr|mrs|ms|miss|mx|dr|prof|sir|madam|m|mme|mlle|herr|frau|sr|sra|srta|dhr|mevr|mw|don|dona|dna)\.?$/i;
const CURRENCY_RE = /^[A-Z]{3}$/;

function shapeOf(values: readonly string[]): ColumnShape {
  const present = values.map((v) => v.trim()).filter((v) => v.length > 0);
  const count = present.length;
  const ratio = (test: (v: string) => boolean) => (count === 0 ? 0 : present.filter(test).length / count);
  return {
    count,
    shapes: {
      email: ratio((v) => EMAIL_RE.test(v)),
      date: ratio((v) => {
        const folded = foldAccents(v);
        return DATE_RES.some((re) => re.test(folded)) || isExcelSerialDate(v);
      }),
      phone: ratio((v) => PHONE_RE.test(v) && (v.match(/\d/g)?.length ?? 0) >= 7),
      countryCode: ratio((v) => isAssignedCountryCode(v)),
      currencyCode: ratio((v) => CURRENCY_RE.test(v) && !isAssignedCountryCode(v)),
      honorific: ratio((v) => HONORIFIC_RE.test(v)),
    },
    values: present.map((v) => foldAccents(v).toLowerCase()),
  };
}

const TYPE_MISMATCH_PENALTY = 0.5;
const TYPE_MATCH_BOOST = 0.08;
const VALUE_HINT_BOOST = 0.15;
const OTHER_FIELD_VALUES_PENALTY = 0.2;
const NOT_SHAPE_PENALTY = 0.4;
/** Boost for a column whose values have the shape a field takes; phone numbers say less than codes. */
const SHAPE_BOOST: Readonly<Record<ValueShape, number>> = {
  email: TYPE_MATCH_BOOST,
  date: TYPE_MATCH_BOOST,
  phone: 0.05,
  countryCode: 0.1,
  currencyCode: 0.1,
  honorific: 0.05,
};
const SHAPE_WORDS: Readonly<Record<ValueShape, string>> = {
  email: 'emails',
  date: 'dates',
  phone: 'phone numbers',
  countryCode: 'ISO country codes',
  currencyCode: 'ISO currency codes',
  honorific: 'honorifics',
};

function hintRatio(shape: ColumnShape, hints: ReadonlySet<string>): number {
  return shape.values.filter((v) => hints.has(v)).length / shape.count;
}

function sampleAdjustment(
  shape: ColumnShape,
  profile: FieldProfile,
  profiles: readonly FieldProfile[],
): { delta: number; note?: string } {
  if (shape.count === 0) return { delta: 0 };
  let delta = 0;
  const notes: string[] = [];
  for (const typed of ['email', 'date'] as const) {
    if (profile.kind === typed) {
      if (shape.shapes[typed] >= 0.8) {
        delta += TYPE_MATCH_BOOST;
        notes.push(`values look like ${SHAPE_WORDS[typed]}`);
      } else if (shape.shapes[typed] < 0.2) {
        delta -= TYPE_MISMATCH_PENALTY;
        notes.push(`values are not ${SHAPE_WORDS[typed]}`);
      }
    } else if (shape.shapes[typed] >= 0.8) {
      delta -= TYPE_MISMATCH_PENALTY;
      notes.push(`values are ${SHAPE_WORDS[typed]}`);
    }
  }
  for (const s of profile.valueShapes) {
    if (s === 'email' || s === 'date' || shape.shapes[s] < 0.8) continue;
    delta += SHAPE_BOOST[s];
    notes.push(`values look like ${SHAPE_WORDS[s]}`);
  }
  for (const s of profile.notShapes) {
    if (shape.shapes[s] < 0.5) continue;
    delta -= NOT_SHAPE_PENALTY;
    notes.push(`values are ${SHAPE_WORDS[s]}`);
  }
  // Codes of a kind this field does not take, where another field takes them ("Land" holding DE, FR, ES).
  for (const s of ['countryCode', 'currencyCode'] as const) {
    if (shape.shapes[s] < 0.8 || profile.valueShapes.has(s)) continue;
    const other = profiles.find((p) => p !== profile && p.valueShapes.has(s));
    if (other) {
      delta -= OTHER_FIELD_VALUES_PENALTY;
      notes.push(`values are ${SHAPE_WORDS[s]}, as ${other.field.title} takes`);
    }
  }
  if (profile.valueHints.size > 0) {
    const own = hintRatio(shape, profile.valueHints);
    if (own >= 0.6) {
      delta += VALUE_HINT_BOOST;
      notes.push(`values are typical of ${profile.field.title}`);
    } else if (own < 0.2) {
      const other = profiles.find(
        (p) => p !== profile && p.valueHints.size > 0 && hintRatio(shape, p.valueHints) >= 0.6,
      );
      if (other) {
        delta -= OTHER_FIELD_VALUES_PENALTY;
        notes.push(`values are typical of ${other.field.title}`);
      }
    }
  }
  if (delta === 0) return { delta };
  const sign = delta > 0 ? '+' : '';
  return { delta, note: `samples: ${notes.join(', ')} (${sign}${round2(delta).toFixed(2)})` };
}

// ---------------------------------------------------------------------------------------------------------------
// Suggest

interface FieldSet {
  profiles: FieldProfile[];
  /** Per language, the words of the fields' own names there. */
  words: Map<Lexicon, Set<string>>;
}

const fieldSetCache = new WeakMap<readonly MappableField[], FieldSet>();

function fieldSetFor(fields: readonly MappableField[]): FieldSet {
  const cached = fieldSetCache.get(fields);
  if (cached) return cached;
  const profiles = fields.map(buildProfile);
  const words = new Map<Lexicon, Set<string>>(LEXICONS.map((l) => [l, new Set<string>()]));
  for (const p of profiles) for (const r of p.readings) for (const t of r.vocabulary) words.get(r.lex)!.add(t);
  const set = { profiles, words };
  fieldSetCache.set(fields, set);
  return set;
}

interface Candidate {
  column: number;
  field: FieldProfile;
  confidence: number;
  reason: string;
  /** The same column and field without phrases that need a neighbour, when the best one needs one. */
  fallback?: Candidate;
  with?: readonly string[];
}

/**
 * Suggests a field for each column, in header order. A field goes to at most one column: candidates are taken
 * best confidence first (ties: earlier column, then earlier field), and a column below the threshold gets none.
 */
export function suggestMapping(
  headers: string[],
  fields: MappableField[],
  options: SuggestMappingOptions = {},
): ColumnSuggestion[] {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const { profiles, words } = fieldSetFor(fields);
  const variants = headers.map((h) => LEXICONS.map((lex) => headerVariants(h, lex)));
  const row = rowLanguage(
    variants.map((perLanguage) => perLanguage.map((v) => v[0]?.tokens ?? [])),
    words,
  );

  // One column is no header row to speak of: its language says nothing about another reading of it.
  const rowSpeaks = row.covering.filter((c) => c.size > 0).length >= 2;

  const scoreIn = (column: number, profile: FieldProfile, conditional: boolean): Candidate | undefined => {
    let best: Candidate | undefined;
    for (const reading of profile.readings) {
      const lexIndex = LEXICONS.indexOf(reading.lex);
      const scored = scoreReading(variants[column]![lexIndex]!, reading, profile.kind, conditional);
      if (!scored) continue;
      let { confidence, reason } = scored;
      if (reading.lex !== row.main && row.covering[column]!.has(row.main) && rowSpeaks) {
        // The row's main language has its own reading of these words; another language's reading is less likely.
        const penalty = round2(LANGUAGE_PENALTY * (1 - row.share.get(reading.lex)!));
        if (penalty > 0) {
          confidence = round2(Math.max(0, confidence - penalty));
          reason = `${reason}; the header row reads as ${row.main.name} (-${penalty.toFixed(2)})`;
        }
      }
      if (!best || confidence > best.confidence) {
        best = { column, field: profile, confidence, reason, ...(scored.with ? { with: scored.with } : {}) };
      }
    }
    return best;
  };

  const all: Candidate[] = [];
  headers.forEach((_, column) => {
    if (variants[column]!.every((v) => v.length === 0)) return;
    const shape = options.samples ? shapeOf(options.samples.map((r) => r[column] ?? '')) : undefined;
    for (const profile of profiles) {
      const candidate = scoreIn(column, profile, true);
      if (!candidate) continue;
      if (candidate.with) {
        const fallback = scoreIn(column, profile, false);
        if (fallback) candidate.fallback = fallback;
      }
      for (const c of [candidate, candidate.fallback]) {
        if (!c || !shape) continue;
        const adjustment = sampleAdjustment(shape, profile, profiles);
        if (adjustment.note) {
          c.confidence = round2(Math.max(0, Math.min(1, c.confidence + adjustment.delta)));
          c.reason = `${c.reason}; ${adjustment.note}`;
        }
      }
      all.push(candidate);
    }
  });

  // A phrase that needs a neighbour ("Nom" beside "Prénom") counts only when another column is a candidate for it.
  const strong = new Map<string, Set<number>>();
  for (const c of all) {
    if (c.confidence < threshold && !(c.fallback && c.fallback.confidence >= threshold)) continue;
    const id = c.field.field.id;
    if (!strong.has(id)) strong.set(id, new Set());
    strong.get(id)!.add(c.column);
  }
  const resolved: Candidate[] = [];
  for (const c of all) {
    const met = !c.with || c.with.some((id) => [...(strong.get(id) ?? [])].some((col) => col !== c.column));
    const chosen = met ? c : c.fallback;
    if (chosen) resolved.push(met && c.with ? { ...c, reason: `${c.reason} (beside ${c.with.join(' or ')})` } : chosen);
  }

  const bestPerColumn: (Candidate | undefined)[] = headers.map(() => undefined);
  const candidates: Candidate[] = [];
  for (const c of resolved) {
    const current = bestPerColumn[c.column];
    if (!current || c.confidence > current.confidence) bestPerColumn[c.column] = c;
    if (c.confidence >= threshold) candidates.push(c);
  }

  candidates.sort((a, b) => b.confidence - a.confidence || a.column - b.column || a.field.index - b.field.index);
  const byColumn = new Map<number, Candidate>();
  const takenFields = new Map<string, Candidate>();
  for (const c of candidates) {
    if (byColumn.has(c.column) || takenFields.has(c.field.field.id)) continue;
    byColumn.set(c.column, c);
    takenFields.set(c.field.field.id, c);
  }

  return headers.map((header, column) => {
    const chosen = byColumn.get(column);
    if (chosen) {
      return { column: header, field: chosen.field.field.id, confidence: chosen.confidence, reason: chosen.reason };
    }
    const best = bestPerColumn[column];
    if (!best || best.confidence <= 0) return { column: header, confidence: 0, reason: 'no match' };
    const title = best.field.field.title;
    const winner = takenFields.get(best.field.field.id);
    const reason =
      best.confidence >= threshold && winner
        ? `"${title}" went to "${headers[winner.column]}" (${winner.confidence.toFixed(2)}); here ${best.reason}`
        : `below threshold ${threshold}: best "${title}" (${best.confidence.toFixed(2)}, ${best.reason})`;
    return { column: header, confidence: best.confidence, reason };
  });
}
