/**
 * How column headings compare wherever a heading is matched (a file's header against a job's mapping, a template's
 * headings and aliases against each other, a custom field's title, two template versions): case, surrounding and
 * repeated inner spaces ignored. Smart mapping's token form (smart-mapping.ts `normalizeHeader`) is another thing: it
 * scores likeness, this decides sameness.
 */
export function normalizeHeading(heading: string): string {
  return heading.trim().replace(/\s+/g, ' ').toLowerCase();
}
