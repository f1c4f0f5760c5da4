/**
 * Views of a template for other modules: the fields as smart mapping scores them, the fields masked wherever a value
 * is shown.
 */
import type { MappableField } from './smart-mapping.ts';
import type { FieldKind, Template } from './template-types.ts';

/** The template's fields as smart mapping scores them. */
export function mappableFields(template: Template): MappableField[] {
  return template.fields.map((f) => ({
    id: f.id,
    title: f.title,
    aliases: [...f.aliases],
    required: f.required,
    type: mappableType(f.kind),
  }));
}

function mappableType(kind: FieldKind): NonNullable<MappableField['type']> {
  switch (kind) {
    case 'email':
    case 'date':
    case 'number':
      return kind;
    case 'enum':
    case 'boolean':
      return 'enum';
    default:
      return 'string';
  }
}

/** Ids of the fields whose values are masked in errors, outcome files and logs. */
export function sensitiveFields(template: Template): readonly string[] {
  return template.sensitiveFields;
}
