/**
 * Accent and letter folding for matching headers written in any of the vocabulary's languages: "Prénom" = "Prenom",
 * "Straße" = "Strasse", "Nº" = "No", "N°" = "No". Case is left alone (camelCase splitting needs it); callers lower-case.
 * Smart mapping's own fold: the heading normaliser of templates/mapping keys exact headings and does not fold
 * letters such as ß or œ, which a suggestion must see through.
 */

const LETTERS: Readonly<Record<string, string>> = {
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

const LETTER_RE = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

/** Folds accents and special letters to plain Latin letters; "N°"/"Nº" become "No". */
export function foldAccents(text: string): string {
  return text
    .replace(/\b([Nn])\s?[°º]/g, '$1o ')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(LETTER_RE, (c) => LETTERS[c] ?? c);
}
