/**
 * The catalog of pre-defined templates: every template document in schemas/templates, loaded once per process (cold
 * start) by template-loader.ts, looked up by id, by file name (file-names.ts) and per job (with its custom fields,
 * custom-fields.ts). The JSON files are imported statically so esbuild bundles them into the Lambda.
 *
 * The module family: template-types.ts (what a template is), template-ajv.ts (the keywords and formats beyond JSON
 * Schema), template-loader.ts (document -> Template, refusing a broken one), custom-fields.ts, file-names.ts,
 * template-views.ts (smart mapping's and masking's views), ../guards.ts and headings.ts (shared helpers).
 */
import caseStatusExport from '../../../schemas/templates/case_status_export.json' with { type: 'json' };
import fnCustomDataImport from '../../../schemas/templates/fn_custom_data_import.json' with { type: 'json' };
import fnEmploymentImport from '../../../schemas/templates/fn_employment_import.json' with { type: 'json' };
import fnPassportImport from '../../../schemas/templates/fn_passport_import.json' with { type: 'json' };
import fnProfileImport from '../../../schemas/templates/fn_profile_import.json' with { type: 'json' };
import immigrationDocumentExpirationsExport from '../../../schemas/templates/immigration_document_expirations_export.json' with {
  type: 'json',
};
import passportInformationExport from '../../../schemas/templates/passport_information_export.json' with {
  type: 'json',
};
import petitionReferenceTableExport from '../../../schemas/templates/petition_reference_table_export.json' with {
  type: 'json',
};
import visaInformationExport from '../../../schemas/templates/visa_information_export.json' with { type: 'json' };
import { isRecord } from '../guards.ts';
import { type CustomFieldDeclaration, withCustomFields } from './custom-fields.ts';
import { type FileNameMatch, matchFileName } from './file-names.ts';
import { newAjv } from './template-ajv.ts';
import { loadTemplate } from './template-loader.ts';
import type { Direction, Template } from './template-types.ts';

export interface TemplateSource {
  /** Path from the repository root, e.g. schemas/templates/fn_profile_import.json. */
  file: string;
  document: unknown;
}

export interface TemplateCatalog {
  all: readonly Template[];
  byId(id: string): Template | undefined;
  /**
   * The template a file name follows (`<template>_YYYYMMDD.csv`, any letter case), or why it follows none. Only
   * templates of the given direction match (default import: files customers upload).
   */
  matchFileName(fileName: string, direction?: Direction): FileNameMatch;
  /** The template a job validates against: its template with the job's custom fields, if any. Throws when invalid. */
  forJob(job: { templateId: string; customFields?: readonly CustomFieldDeclaration[] }): Template;
}

function isSource(entry: unknown): entry is TemplateSource {
  return isRecord(entry) && typeof entry.file === 'string' && 'document' in entry && !('x-integrator' in entry);
}

/** A catalog of templates from their documents (or `{ file, document }` entries, so errors name the file). */
export function createCatalog(entries: readonly unknown[]): TemplateCatalog {
  const ajv = newAjv();
  const fastAjv = newAjv(false);
  const all = entries.map((entry) =>
    isSource(entry) ? loadTemplate(entry.document, ajv, fastAjv, entry.file) : loadTemplate(entry, ajv, fastAjv),
  );
  const byLowerId = new Map<string, Template>();
  const byEntity = new Map<string, Template>();
  for (const t of all) {
    if (byLowerId.has(t.id.toLowerCase())) throw new Error(`template ${t.id} is defined twice`);
    byLowerId.set(t.id.toLowerCase(), t);
    // Two import templates writing one entity would overwrite each other's content hash and fields.
    const owner = t.direction === 'import' ? byEntity.get(t.entity) : undefined;
    if (owner) throw new Error(`templates ${owner.id} and ${t.id} both import entity ${t.entity}`);
    if (t.direction === 'import') byEntity.set(t.entity, t);
  }
  const byId = (id: string) => all.find((t) => t.id === id);
  return {
    all,
    byId,
    matchFileName: (fileName, direction = 'import') => matchFileName(fileName, direction, all, byLowerId),
    forJob(job) {
      const template = byId(job.templateId);
      if (!template) throw new Error(`unknown template ${job.templateId}`);
      return withCustomFields(template, job.customFields ?? []);
    },
  };
}

const dir = 'schemas/templates';
/** Every template in schemas/templates. Add a template: add its JSON file and list it here (a test checks both). */
export const TEMPLATE_SOURCES: readonly TemplateSource[] = [
  { file: `${dir}/fn_profile_import.json`, document: fnProfileImport },
  { file: `${dir}/fn_custom_data_import.json`, document: fnCustomDataImport },
  { file: `${dir}/fn_passport_import.json`, document: fnPassportImport },
  { file: `${dir}/fn_employment_import.json`, document: fnEmploymentImport },
  { file: `${dir}/case_status_export.json`, document: caseStatusExport },
  { file: `${dir}/visa_information_export.json`, document: visaInformationExport },
  { file: `${dir}/immigration_document_expirations_export.json`, document: immigrationDocumentExpirationsExport },
  { file: `${dir}/passport_information_export.json`, document: passportInformationExport },
  { file: `${dir}/petition_reference_table_export.json`, document: petitionReferenceTableExport },
];

export const templates: TemplateCatalog = createCatalog(TEMPLATE_SOURCES);
