import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IntegratorStack } from '../lib/aws/integrator-stack.ts';
import { type IntegratorSettings, readSettings } from '../lib/aws/settings.ts';

const app = new App();

let settings: IntegratorSettings;
try {
  settings = readSettings(app.node);
} catch (error) {
  console.error(`Integrator: ${(error as Error).message}`);
  process.exit(1);
}

if (settings.organizations.length === 0) {
  console.error(
    'Integrator: no organizations given (-c organizations=<file.json | JSON list>); after the deploy, create them with npm run org -- sync --file <file.json> or npm run org -- create',
  );
}

new IntegratorStack(app, settings.stackName, {
  description: 'Integrator: SFTP/CSV data transfer and its HTTP API',
  organizations: settings.organizations,
  ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
  // The notifications' sender (an address or a domain SES verifies); a placeholder until one is given.
  ...(typeof app.node.tryGetContext('notifySender') === 'string'
    ? { notifySender: app.node.tryGetContext('notifySender') as string }
    : {}),
});

// cdk-nag's AWS Solutions pack runs at synth: any finding not acknowledged (with a reason, next to the construct
// that causes it) fails `cdk synth` and `cdk deploy`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
