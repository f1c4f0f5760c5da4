import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

/**
 * cdk-nag's AWS Solutions checks over the whole stack, with the feature flags of cdk.json (as `cdk synth` runs it).
 * Bundling is skipped; the handler entries are stubs, since only their existence is checked without bundling.
 */
const flags = cdkFeatureFlags();
const handlersDir = stubHandlersDir();

const organizations = [
  { id: 'acme', name: 'Acme', sshPublicKeys: [], allowedRecords: 10 },
  { id: 'globex', name: 'Globex', sshPublicKeys: [], allowedRecords: 10 },
];

/** CloudFormation's own template rules (~10 s on first use) only where a test is about them. */
function buildApp(alarmEmail?: string, cloudFormationRules = false): App {
  const app = new App({
    context: { ...flags, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: cloudFormationRules,
  });
  new IntegratorStack(app, 'NagTest', { organizations, handlersDir, ...(alarmEmail ? { alarmEmail } : {}) });
  return app;
}

test('no unacknowledged AWS Solutions finding', () => {
  const app = buildApp('ops@example.com');
  app.synth();
  const report = new AwsSolutionsChecks(app).validateScope(app);
  const findings = report.violations.map(
    (v) => `${v.ruleName}: ${v.description}\n    ${v.violatingResources.map((r) => r.constructPath).join('\n    ')}`,
  );
  assert.deepEqual(findings, []);
});

test("synth as bin/app.ts runs it passes: cdk-nag and CloudFormation's own template rules", () => {
  const app = buildApp('ops@example.com', true);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assert.doesNotThrow(() => app.synth());
});

test('a finding fails synth: the plugin is not silently inert', (t) => {
  // The report CDK prints for the expected failure would read like a real one in the test output.
  t.mock.method(console, 'error', () => {});
  t.mock.method(console, 'log', () => {});
  t.mock.method(process.stderr, 'write', () => true);
  const app = buildApp();
  // A queue with neither dead-letter queue nor TLS-only policy: SQS3 and SQS4 must fire.
  new sqs.Queue(app.node.findChild('NagTest') as IntegratorStack, 'Unsafe');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assert.throws(() => app.synth(), /Validation failed/);
});

test('every acknowledgement is still needed: each one silences a finding that would otherwise fire', () => {
  const app = buildApp();
  app.synth();
  const acknowledged = acknowledgements(app).map(({ path, id }) => `${path} ${id.replace(/^annotation::/i, '')}`);
  const used = new Set<string>();
  const pack = new AwsSolutionsChecks(app);
  // Records which acknowledgement answered each finding. isAcknowledged is cdk-nag 3's private hook.
  const hook = pack as unknown as { isAcknowledged(node: IConstruct, ruleId: string): boolean };
  assert.equal(typeof hook.isAcknowledged, 'function', 'cdk-nag changed: update this test');
  const original = hook.isAcknowledged.bind(pack);
  hook.isAcknowledged = (node, ruleId) => {
    if (!original(node, ruleId)) return false;
    for (let at: IConstruct | undefined = node; at; at = at.node.scope) used.add(`${at.node.path} ${ruleId}`);
    return true;
  };
  pack.validateScope(app);
  assert.deepEqual(
    acknowledged.filter((entry) => !used.has(entry)),
    [],
  );
});

test('every acknowledgement gives a specific reason', () => {
  const all = acknowledgements(buildApp());
  assert.ok(all.length > 0);
  for (const { path, id, reason } of all) {
    assert.ok(reason.length >= 40, `${path} ${id}: reason too short to say why: "${reason}"`);
  }
});

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  const visit = (node: IConstruct) => {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id, reason });
      }
    }
    node.node.children.forEach(visit);
  };
  visit(root);
  return found;
}
