/**
 * What every infrastructure test needs: cdk.json's feature flags (so the tests synthesize what `cdk synth` does) and
 * stub handler entries, because NodejsFunction checks that its entry exists even when bundling is skipped. The stubs
 * live in the git-ignored cdk.out (entries must be under the project root) and are removed after the test file.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { HANDLER_FILES } from '../../lib/aws/function.ts';
import { repoPath } from '../../lib/aws/paths.ts';

export function cdkFeatureFlags(): Record<string, unknown> {
  const context = JSON.parse(readFileSync(repoPath('cdk.json'), 'utf8')).context as Record<string, unknown>;
  return Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith('@aws-cdk')));
}

export function stubHandlersDir(): string {
  mkdirSync(repoPath('cdk.out'), { recursive: true });
  const dir = mkdtempSync(repoPath('cdk.out/test-handlers-'));
  for (const file of Object.values(HANDLER_FILES)) writeFileSync(join(dir, file), 'export const handler = 1;\n');
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every action a role's policies in the template allow, sorted and once each. */
export function roleActions(template: Template, roleLogicalId: string): string[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  const actions: string[] = [];
  for (const p of Object.values(policies)) {
    for (const s of (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties
      .PolicyDocument.Statement) {
      actions.push(...(Array.isArray(s.Action) ? s.Action : [s.Action]));
    }
  }
  return [...new Set(actions)].sort();
}
