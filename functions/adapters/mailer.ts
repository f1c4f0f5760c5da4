import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import type { Mailer, MailMessage } from '../core/ports.ts';

/**
 * The Mailer port over nodemailer, which composes the RFC 5322 message (headers, encoding, the event's Message-ID).
 * In AWS its SES transport sends it through SESv2 SendEmail with the stack's configuration set (delivery, bounce and
 * complaint events); on the twin its stream transport writes the same message as an `.eml` file.
 */
export function sesMailer(options: { configurationSet?: string; client?: SESv2Client } = {}): Mailer {
  const sesClient = options.client ?? new SESv2Client({});
  const transport = nodemailer.createTransport({ SES: { sesClient, SendEmailCommand } });
  return {
    async send(message) {
      const info = await transport.sendMail({
        ...fields(message),
        ...(options.configurationSet ? { ses: { ConfigurationSetName: options.configurationSet } } : {}),
      });
      // The SES transport answers SES's MessageId as `response`.
      return { providerId: typeof info.response === 'string' ? info.response : undefined };
    },
  };
}

/**
 * The twin's mailbox: each message a file `<time>-<message id>.eml` in `directory` (.local/mail/), written whole then
 * renamed, so a reader never sees half a message. Open one with any mail client.
 */
export function emlMailer(directory: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message) {
      const info = await transport.sendMail(fields(message));
      mkdirSync(directory, { recursive: true });
      const id = message.messageId.replace(/[<>]/g, '').replace(/[^A-Za-z0-9.@-]/g, '_');
      const name = `${new Date().toISOString().replace(/[-:.]/g, '')}-${id}.eml`;
      const tmp = join(directory, `.${name}.tmp`);
      writeFileSync(tmp, info.message as Buffer);
      renameSync(tmp, join(directory, name));
      return { providerId: name };
    },
  };
}

/** Mailer from the environment: INTEGRATOR_MAIL_DIR (the twin) or SES with SES_CONFIGURATION_SET. */
export function mailerFromEnv(env: NodeJS.ProcessEnv = process.env): Mailer {
  if (env.INTEGRATOR_MAIL_DIR) return emlMailer(env.INTEGRATOR_MAIL_DIR);
  return sesMailer(env.SES_CONFIGURATION_SET ? { configurationSet: env.SES_CONFIGURATION_SET } : {});
}

function fields(message: MailMessage) {
  return {
    from: message.from,
    to: [...message.to],
    subject: message.subject,
    text: message.text,
    messageId: message.messageId,
  };
}
