import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Node } from 'constructs';
import { type OrganizationConfig, parseOrganizations } from '../../functions/core/organizations.ts';

/** What a deployment is told through CDK context (cdk.json, or `-c key=value` on the command line). */
export interface IntegratorSettings {
  stackName: string;
  organizations: OrganizationConfig[];
  alarmEmail?: string;
}

const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Reads and validates the context. `organizations` (none by default) is a JSON list of organizations or the path of
 * a JSON file holding one (relative to the working directory, i.e. the project root under `cdk`). Throws with a message that
 * names the context key and what was expected.
 */
export function readSettings(node: Node, cwd: string = process.cwd()): IntegratorSettings {
  const stackName = node.tryGetContext('stackName') ?? 'Integrator';
  if (typeof stackName !== 'string' || !STACK_NAME.test(stackName)) {
    throw new Error(`context "stackName": "${String(stackName)}" is not a stack name (letters, digits, dashes)`);
  }

  const alarmEmail = node.tryGetContext('alarmEmail');
  if (alarmEmail !== undefined && alarmEmail !== '' && (typeof alarmEmail !== 'string' || !EMAIL.test(alarmEmail))) {
    throw new Error(`context "alarmEmail": "${String(alarmEmail)}" is not an email address (or leave it empty)`);
  }

  return {
    stackName,
    organizations: readOrganizations(node.tryGetContext('organizations'), cwd),
    ...(alarmEmail ? { alarmEmail } : {}),
  };
}

/**
 * No `organizations` context means no organizations (an SFTP server without users): a plain synth or deploy never
 * creates the example organization, whose key pair is public. Deployments name their own file or list.
 */
function readOrganizations(value: unknown, cwd: string): OrganizationConfig[] {
  if (value === undefined || value === '') return [];
  if (Array.isArray(value)) return parseOrganizations(value, 'context "organizations"');
  if (typeof value !== 'string') throw new Error('context "organizations": expected a JSON list or a file path');

  // `-c organizations='[...]'` arrives as a string.
  if (value.trim().startsWith('['))
    return parseOrganizations(parseJson(value, 'context "organizations"'), 'context "organizations"');

  const file = isAbsolute(value) ? value : resolve(cwd, value);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`context "organizations": cannot read ${file}: ${(error as Error).message}`);
  }
  return parseOrganizations(parseJson(text, file), file);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not valid JSON: ${(error as Error).message}`);
  }
}
