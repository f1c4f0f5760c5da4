/**
 * The notification wiring every function that sends e-mail shares (the run watch; the import and export functions,
 * which send a failed run's notification when they end it): the outbox, the contacts, the mailer, from the
 * environment CDK (lib/aws/operations.ts grantNotify) or the twin sets.
 *
 * Environment: NOTIFY_FROM (a verified SES identity; without it a function that ends runs sends nothing itself and
 * leaves the notification to the run watch), NOTIFY_MESSAGE_DOMAIN, SES_CONFIGURATION_SET (AWS) or
 * INTEGRATOR_MAIL_DIR (the twin's mailbox), REPORTS_URL (named in e-mails).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunLog } from '../core/ports.ts';
import { type NotifyDeps, notifyOnce, withFailureNotices } from '../core/transfer/watch-cycle.ts';
import { dynamoDbOutbox } from './dynamodb-outbox.ts';
import { dynamoDbContacts } from './dynamodb-run-watch.ts';
import { mailerFromEnv } from './mailer.ts';

export function notifyDepsFromEnv(db: DynamoDBDocumentClient, env: NodeJS.ProcessEnv = process.env): NotifyDeps {
  return {
    outbox: dynamoDbOutbox(db, env),
    contacts: dynamoDbContacts(db, env),
    mailer: mailerFromEnv(env),
    clock: { now: () => new Date() },
    from: env.NOTIFY_FROM ?? 'integrator@localhost',
    messageDomain: env.NOTIFY_MESSAGE_DOMAIN ?? 'integrator.local',
    ...(env.REPORTS_URL ? { reportsUrl: env.REPORTS_URL } : {}),
  };
}

/**
 * The run log of a function that ends runs: a run saved Interrupted or Incomplete is e-mailed at once (when the
 * environment names a sender), its failure to send logged and left to the run watch. Read when the event happens, not
 * when the function starts: the twin sets its mailbox after loading the handlers.
 */
export function runLogWithFailureNotices<L extends RunLog>(
  runLog: L,
  db: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv,
  log: (message: string, fields: Record<string, unknown>) => void,
): L {
  let deps: NotifyDeps | undefined;
  return withFailureNotices(
    runLog,
    async (event) => {
      if (!env.NOTIFY_FROM) return 'not_configured';
      deps ??= notifyDepsFromEnv(db, env);
      return notifyOnce(deps, event);
    },
    (err, event) =>
      log('failure notification not sent (the run watch retries it)', {
        org: event.org,
        kind: event.kind,
        error: err instanceof Error ? err.message : String(err),
      }),
  );
}
