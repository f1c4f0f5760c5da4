/**
 * Type guards for values from outside (JSON documents, API bodies, template files): one definition each, shared by
 * every module that checks such a value before relying on its shape.
 */

/** A plain JSON object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A list whose every element is a string (an empty list is one). */
export function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
