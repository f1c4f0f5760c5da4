/**
 * Smart mapping: suggests which template field each column of a customer's HR file feeds.
 *
 * Headers and field names are normalized to plain word tokens (accents, case, punctuation, camelCase and glued
 * words, abbreviations), then matched against each field's title, id, aliases and synonym table
 * (`synonyms.ts`): a whole-header match first, then a synonym inside a longer header with the extra words judged
 * (neutral qualifiers, weaker variants, words that make it about another person or another attribute), then
 * fuzzy token similarity as a low-confidence fallback. Optional sample rows nudge the scores (emails, dates,
 * typical values). Finally fields are assigned globally, best confidence first, so one field feeds at most one
 * column. Pure: no I/O, no clock.
 */
import {
  ABBREVIATIONS,
  ATTRIBUTE_WORDS,
  COMMON_WORDS,
  DATE_QUALIFIERS,
  DEMOTING_QUALIFIERS,
  ENTITY_CHANGERS,
  FIELD_SYNONYMS,
  type FieldVocabulary,
  IDENTIFIER_WORDS,
  NEUTRAL_QUALIFIERS,
  PHRASE_REWRITES,
  STOP_WORDS,
} from './synonyms.ts';

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
  /** Why, for people: 'exact title', 'synonym: worker id', 'similar to "Job Title" (0.86)', ... */
  reason: string;
}

export interface SuggestMappingOptions {
  /** Minimum confidence for a suggestion; default 0.6. */
  threshold?: number;
  /** Optional sample rows, cells in header order. */
  samples?: string[][];
}

export const DEFAULT_THRESHOLD = 0.6;

// ---------------------------------------------------------------------------------------------------------------
// Normalization

const SINGLE_TOKEN_UNKNOWN_PENALTY = 0.35;
const UNKNOWN_PENALTY = 0.12;
const NEUTRAL_PENALTY = 0.03;
const DEMOTING_PENALTY = 0.2;
const IDENTIFIER_PENALTY = 0.25;
const DIGIT_PENALTY = 0.05;
const SIMILARITY_FACTOR = 0.8;
const SIMILARITY_CAP = 0.8;
const ALIAS_WEIGHT = 0.98;

/** Splits a raw header or name into raw lower-case words (no abbreviation handling yet). */
function rawWords(raw: string, dropBracketed: boolean): string[] {
  let s = raw
    .replace(/^\uFEFF/, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '');
  // Annotations such as "[Required]" or "[givenName]" (Google, Entra templates) are not part of the name.
  const withoutSquare = s.replace(/\[[^\]]*\]/g, ' ');
  if (/[\p{L}\p{N}]/u.test(withoutSquare)) s = withoutSquare;
  if (dropBracketed) {
    const withoutRound = s.replace(/\([^)]*\)/g, ' ');
    if (/[\p{L}\p{N}]/u.test(withoutRound)) s = withoutRound;
  }
  s = s
    .replace(/['’`]s\b/gi, '')
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

/** "Centers" -> "center"; known words and abbreviations ending in s ("status", "pers") stay as they are. */
function singular(word: string, vocabulary: ReadonlySet<string> = BASE_VOCABULARY): string {
  if (word.length <= 3 || !word.endsWith('s') || /(ss|us|is)$/.test(word)) return word;
  if (vocabulary.has(word) || Object.hasOwn(ABBREVIATIONS, word)) return word;
  return word.slice(0, -1);
}

/** Two-letter words a glued word may contain ("EMPID", "EMPNO"); other short pieces split too eagerly. */
const SHORT_PIECES: ReadonlySet<string> = new Set(['id', 'no']);

/** Work done by `segmentWord`: one step per vocabulary lookup (tests bound it). */
export interface SegmentWork {
  steps: number;
}

/**
 * Splits a glued word into known words ("hiredate" -> hire date), fewest pieces first (ties: the split whose last
 * piece starts earliest); undefined if it cannot. A piece is never longer than the longest vocabulary word, so the
 * work is at most (word length x that length) lookups: linear in the word, whatever a request sends.
 */
export function segmentWord(
  word: string,
  vocabulary: ReadonlySet<string> = BASE_VOCABULARY,
  work?: SegmentWork,
): string[] | undefined {
  const n = word.length;
  const longest = longestWordOf(vocabulary);
  // pieces[i]: fewest pieces covering word[0, i) (-1: none); from[i]: where the last of them starts.
  const pieces = new Int32Array(n + 1).fill(-1);
  const from = new Int32Array(n + 1);
  pieces[0] = 0;
  for (let end = 2; end <= n; end++) {
    for (let start = Math.max(0, end - longest); start <= end - 2; start++) {
      if (pieces[start]! < 0) continue;
      if (work) work.steps++;
      const piece = word.slice(start, end);
      if (!vocabulary.has(piece) || (piece.length < 3 && !SHORT_PIECES.has(piece))) continue;
      const count = pieces[start]! + 1;
      if (pieces[end]! < 0 || count < pieces[end]!) {
        pieces[end] = count;
        from[end] = start;
      }
    }
  }
  if (pieces[n]! <= 1) return undefined;
  const out: string[] = [];
  for (let end = n; end > 0; end = from[end]!) out.push(word.slice(from[end]!, end));
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

function applyRewrites(tokens: string[]): string[] {
  let out = tokens;
  for (const [from, to] of PHRASE_REWRITES) {
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

function expandWord(word: string): string[] {
  const expansion = ABBREVIATIONS[word];
  return expansion === undefined ? [word] : expansion.split(' ');
}

function finishTokens(words: string[], vocabulary: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const raw of words) {
    const word = singular(raw, vocabulary);
    if (
      word.length >= 4 &&
      !vocabulary.has(word) &&
      !Object.hasOwn(ABBREVIATIONS, word) &&
      !STOP_WORDS.has(word) &&
      /^\p{L}+$/u.test(word)
    ) {
      const pieces = segmentWord(word, vocabulary);
      if (pieces) {
        for (const p of pieces) out.push(...expandWord(p));
        continue;
      }
    }
    out.push(...expandWord(word));
  }
  const rewritten = applyRewrites(out.map((t) => singular(t, vocabulary)));
  return rewritten.filter((t) => !STOP_WORDS.has(t));
}

const BASE_VOCABULARY: ReadonlySet<string> = (() => {
  const v = new Set<string>();
  const add = (text: string) => {
    for (const w of rawWords(text, false)) v.add(w);
  };
  for (const vocab of Object.values(FIELD_SYNONYMS)) {
    for (const [phrase] of vocab.phrases) add(phrase);
    for (const n of vocab.negatives ?? []) add(n);
  }
  for (const [abbr, full] of Object.entries(ABBREVIATIONS)) {
    if (abbr.length >= 2) v.add(abbr);
    add(full);
  }
  for (const set of [NEUTRAL_QUALIFIERS, DEMOTING_QUALIFIERS, ENTITY_CHANGERS, ATTRIBUTE_WORDS, IDENTIFIER_WORDS]) {
    for (const w of set) v.add(w);
  }
  for (const w of COMMON_WORDS) v.add(w);
  for (const w of STOP_WORDS) v.delete(w);
  return v;
})();

/** The canonical word tokens of a header or field name: "Manager's E-mail" -> ["manager", "email"]. */
export function headerTokens(raw: string, options: { dropParenthesized?: boolean } = {}): string[] {
  return finishTokens(rawWords(raw, options.dropParenthesized ?? false), BASE_VOCABULARY);
}

/** The canonical form of a header: its tokens joined by single spaces ("EMP_NO" -> "employee number"). */
export function normalizeHeader(raw: string): string {
  return headerTokens(raw).join(' ');
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
// Field profiles

type PhraseKind = 'title' | 'id' | 'alias' | 'synonym';

interface Phrase {
  /** As written, for reasons. */
  label: string;
  tokens: string[];
  key: string;
  compact: string;
  weight: number;
  kind: PhraseKind;
}

type FieldKind = 'email' | 'date' | 'other';

interface FieldProfile {
  field: MappableField;
  index: number;
  kind: FieldKind;
  phrases: Phrase[];
  /** Every token of every phrase: extra words from this set are not foreign to the field. */
  vocabulary: Set<string>;
  negatives: Set<string>;
  valueHints: Set<string>;
}

function compactKey(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

function vocabularyFor(field: MappableField): FieldVocabulary | undefined {
  const byId = FIELD_SYNONYMS[field.id];
  if (byId) return byId;
  // Templates written elsewhere may spell the id differently ("employee_id", "nickName"): match by id or title.
  const wanted = new Set([compactKey(field.id), compactKey(field.title), ...(field.aliases ?? []).map(compactKey)]);
  for (const [id, vocab] of Object.entries(FIELD_SYNONYMS)) {
    if (wanted.has(compactKey(id))) return vocab;
  }
  for (const vocab of Object.values(FIELD_SYNONYMS)) {
    const first = vocab.phrases[0];
    if (first && wanted.has(compactKey(first[0]))) return vocab;
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

function buildProfile(field: MappableField, index: number): FieldProfile {
  const vocab = vocabularyFor(field);
  const phrases = new Map<string, Phrase>();
  const add = (label: string, weight: number, kind: PhraseKind) => {
    const tokens = headerTokens(label);
    if (tokens.length === 0) return;
    const key = tokens.join(' ');
    const existing = phrases.get(key);
    if (existing && existing.weight >= weight) return;
    phrases.set(key, { label, tokens, key, compact: tokens.join(''), weight, kind });
  };
  for (const [phrase, weight] of vocab?.phrases ?? []) add(phrase, weight, 'synonym');
  // An alias makes a name count; where the synonym table already grades that name for this field ("Original Hire
  // Date" below "Hire Date" and "Start Date"), the table's weight keeps the order among the field's names.
  for (const alias of field.aliases ?? []) {
    const key = headerTokens(alias).join(' ');
    const graded = phrases.get(key);
    if (graded) phrases.set(key, { ...graded, label: alias, kind: 'alias' });
    else add(alias, ALIAS_WEIGHT, 'alias');
  }
  add(field.id, 0.98, 'id');
  add(field.title, 1, 'title');
  const list = [...phrases.values()];
  const vocabulary = new Set(list.flatMap((p) => p.tokens));
  const negatives = new Set((vocab?.negatives ?? []).flatMap((n) => headerTokens(n)));
  for (const t of vocabulary) negatives.delete(t);
  const valueHints = new Set((vocab?.valueHints ?? []).map((v) => v.toLowerCase()));
  return { field, index, kind: inferKind(field), phrases: list, vocabulary, negatives, valueHints };
}

// ---------------------------------------------------------------------------------------------------------------
// Scoring one column against one field

interface Candidate {
  column: number;
  field: FieldProfile;
  confidence: number;
  reason: string;
}

interface HeaderVariant {
  tokens: string[];
  key: string;
  compact: string;
}

function headerVariants(header: string): HeaderVariant[] {
  const variants: HeaderVariant[] = [];
  for (const dropParenthesized of [false, true]) {
    const tokens = headerTokens(header, { dropParenthesized });
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
function isForeign(token: string, profile: FieldProfile): boolean {
  if (profile.vocabulary.has(token)) return false;
  if (profile.negatives.has(token)) return true;
  if (ENTITY_CHANGERS.has(token)) return true;
  if (ATTRIBUTE_WORDS.has(token)) return !(profile.kind === 'date' && DATE_QUALIFIERS.has(token));
  return false;
}

function extrasPenalty(extras: readonly string[], profile: FieldProfile, phrase: Phrase): number | undefined {
  let penalty = 0;
  for (const t of extras) {
    if (isForeign(t, profile)) return undefined;
    if (DEMOTING_QUALIFIERS.has(t)) penalty += DEMOTING_PENALTY;
    else if (NEUTRAL_QUALIFIERS.has(t)) penalty += NEUTRAL_PENALTY;
    // A word of another synonym of the same field ("Mobile" in "Mobile Phone") is not neutral: that synonym, if it
    // is the whole header, scores on its own weight; here it only must not block.
    else if (profile.vocabulary.has(t)) penalty += UNKNOWN_PENALTY;
    else if (IDENTIFIER_WORDS.has(t)) penalty += IDENTIFIER_PENALTY;
    else if (/^\d+$/.test(t)) penalty += DIGIT_PENALTY;
    else if (profile.kind === 'date' && DATE_QUALIFIERS.has(t)) penalty += UNKNOWN_PENALTY;
    else penalty += phrase.tokens.length === 1 ? SINGLE_TOKEN_UNKNOWN_PENALTY : UNKNOWN_PENALTY;
  }
  return penalty;
}

function describeExact(phrase: Phrase): string {
  switch (phrase.kind) {
    case 'title':
      return 'exact title';
    case 'id':
      return 'field id';
    case 'alias':
      return `alias: ${phrase.label}`;
    default:
      return `synonym: ${phrase.label.toLowerCase()}`;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function scoreColumn(
  variants: readonly HeaderVariant[],
  profile: FieldProfile,
): { confidence: number; reason: string } | undefined {
  let best: { confidence: number; reason: string } | undefined;
  const consider = (confidence: number, reason: string) => {
    const c = round2(Math.max(0, Math.min(1, confidence)));
    if (!best || c > best.confidence) best = { confidence: c, reason };
  };
  for (const variant of variants) {
    for (const phrase of profile.phrases) {
      if (variant.key === phrase.key) {
        consider(phrase.weight, describeExact(phrase));
        continue;
      }
      if (variant.compact === phrase.compact) {
        consider(phrase.weight - 0.02, describeExact(phrase));
        continue;
      }
      const extras = extraTokens(variant.tokens, phrase.tokens);
      if (extras) {
        const penalty = extrasPenalty(extras, profile, phrase);
        if (penalty !== undefined) {
          const base =
            phrase.kind === 'synonym' ? `synonym: ${phrase.label.toLowerCase()}` : `${phrase.kind} "${phrase.label}"`;
          consider(Math.min(phrase.weight - 0.01, phrase.weight - penalty), `${base} (with "${extras.join(' ')}")`);
        }
        continue;
      }
      // Fallback: fuzzy similarity, never for a header naming another person or attribute.
      if (variant.tokens.some((t) => isForeign(t, profile))) continue;
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
      consider(confidence, `similar to "${phrase.label}" (${round2(similarity).toFixed(2)})`);
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Samples

interface ColumnShape {
  count: number;
  email: number;
  date: number;
  phone: number;
  honorific: number;
  values: string[];
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE_RES = [
  /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?$/,
  /^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$/,
  /^\d{1,2}[- ][A-Za-z]{3,9}[- ,]+\d{2,4}$/,
  /^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}$/,
  /^\d{8}$/,
];

/** Excel's day serials for 1954..2119, as dates saved without formatting come out. */
function isExcelSerialDate(v: string): boolean {
  if (!/^\d{5}(\.\d+)?$/.test(v)) return false;
  const n = Number(v);
  return n >= 20000 && n <= 80000;
}
const PHONE_RE = /^\+?[\d\s().-]{7,}$/;
const HONORIFIC_RE = /^(mr|mrs|ms|miss|mx|dr|prof|sir|madam|m|mme|herr|frau)\.?$/i;

function shapeOf(values: readonly string[]): ColumnShape {
  const present = values.map((v) => v.trim()).filter((v) => v.length > 0);
  const count = present.length;
  const ratio = (test: (v: string) => boolean) => (count === 0 ? 0 : present.filter(test).length / count);
  return {
    count,
    email: ratio((v) => EMAIL_RE.test(v)),
    date: ratio((v) => DATE_RES.some((re) => re.test(v)) || isExcelSerialDate(v)),
    phone: ratio((v) => PHONE_RE.test(v) && (v.match(/\d/g)?.length ?? 0) >= 7),
    honorific: ratio((v) => HONORIFIC_RE.test(v)),
    values: present.map((v) => v.toLowerCase()),
  };
}

const TYPE_MISMATCH_PENALTY = 0.5;
const TYPE_MATCH_BOOST = 0.08;
const VALUE_HINT_BOOST = 0.15;
const OTHER_FIELD_VALUES_PENALTY = 0.2;

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
  if (profile.kind === 'email') {
    if (shape.email >= 0.8) {
      delta += TYPE_MATCH_BOOST;
      notes.push('values look like emails');
    } else if (shape.email < 0.2) {
      delta -= TYPE_MISMATCH_PENALTY;
      notes.push('values are not emails');
    }
  } else if (shape.email >= 0.8) {
    delta -= TYPE_MISMATCH_PENALTY;
    notes.push('values are emails');
  }
  if (profile.kind === 'date') {
    if (shape.date >= 0.8) {
      delta += TYPE_MATCH_BOOST;
      notes.push('values look like dates');
    } else if (shape.date < 0.2) {
      delta -= TYPE_MISMATCH_PENALTY;
      notes.push('values are not dates');
    }
  } else if (shape.date >= 0.8) {
    delta -= TYPE_MISMATCH_PENALTY;
    notes.push('values are dates');
  }
  if (profile.field.id === 'phone' && shape.phone >= 0.8) {
    delta += 0.05;
    notes.push('values look like phone numbers');
  }
  if (profile.field.id === 'jobTitle' && shape.honorific >= 0.5) {
    delta -= 0.4;
    notes.push('values are honorifics');
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

const profileCache = new WeakMap<readonly MappableField[], FieldProfile[]>();

function profilesFor(fields: readonly MappableField[]): FieldProfile[] {
  const cached = profileCache.get(fields);
  if (cached) return cached;
  const profiles = fields.map(buildProfile);
  profileCache.set(fields, profiles);
  return profiles;
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
  const profiles = profilesFor(fields);
  const candidates: Candidate[] = [];
  const bestPerColumn: (Candidate | undefined)[] = headers.map(() => undefined);

  headers.forEach((header, column) => {
    const variants = headerVariants(header);
    if (variants.length === 0) return;
    const shape = options.samples ? shapeOf(options.samples.map((row) => row[column] ?? '')) : undefined;
    for (const profile of profiles) {
      const scored = scoreColumn(variants, profile);
      if (!scored) continue;
      let { confidence, reason } = scored;
      if (shape) {
        const adjustment = sampleAdjustment(shape, profile, profiles);
        if (adjustment.note) {
          confidence = round2(Math.max(0, Math.min(1, confidence + adjustment.delta)));
          reason = `${reason}; ${adjustment.note}`;
        }
      }
      const candidate: Candidate = { column, field: profile, confidence, reason };
      const currentBest = bestPerColumn[column];
      if (!currentBest || confidence > currentBest.confidence) bestPerColumn[column] = candidate;
      if (confidence >= threshold) candidates.push(candidate);
    }
  });

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
