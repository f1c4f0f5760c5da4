import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResourceNotFoundException, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { eventBridgeScheduler, scheduleName } from '../../functions/adapters/eventbridge-scheduler.ts';
import { defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { DEFAULT_SCHEDULE } from '../../functions/core/transfer/schedules.ts';

/** Scheduler's API in memory: schedules by name, with its not-found and conflict answers. */
function fakeScheduler() {
  const schedules = new Map<string, Record<string, unknown>>();
  const calls: string[] = [];
  const notFound = () => new ResourceNotFoundException({ message: 'not found', Message: 'not found', $metadata: {} });
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name.replace('Command', '');
      const input = command.input;
      calls.push(`${name} ${String(input.Name ?? input.NamePrefix)}`);
      switch (name) {
        case 'CreateSchedule':
          schedules.set(input.Name as string, input);
          return {};
        case 'UpdateSchedule':
          if (!schedules.has(input.Name as string)) throw notFound();
          schedules.set(input.Name as string, input);
          return {};
        case 'DeleteSchedule':
          if (!schedules.delete(input.Name as string)) throw notFound();
          return {};
        case 'ListSchedules':
          return {
            Schedules: [...schedules.keys()]
              .filter((n) => n.startsWith(input.NamePrefix as string))
              .map((Name) => ({ Name })),
          };
      }
      throw new Error(`unexpected ${name}`);
    },
  } as unknown as SchedulerClient;
  return { client, schedules, calls };
}

const settings = {
  group: 'integrator-jobs',
  queueArn: 'arn:aws:sqs:us-east-1:111111111111:job-runs',
  roleArn: 'arn:aws:iam::111111111111:role/scheduler',
  deadLetterArn: 'arn:aws:sqs:us-east-1:111111111111:job-runs-schedule-dlq',
  clock: { now: () => new Date('2026-01-15T00:00:00Z') },
};
const job: ImportJob = {
  ...defaultImportJob('acme', 'fn_profile_import', 'profile'),
  processing: 'scheduled',
  schedule: DEFAULT_SCHEDULE,
};

test('a launched scheduled job: its cron schedule, plus a one-time schedule for the spring-forward run', async () => {
  const { client, schedules } = fakeScheduler();
  await eventBridgeScheduler(client, settings).sync(job);
  const main = schedules.get('acme.profile')!;
  assert.equal(main.ScheduleExpression, 'cron(0 2 * * ? *)');
  assert.equal(main.ScheduleExpressionTimezone, 'America/Los_Angeles');
  assert.equal(main.State, 'ENABLED');
  assert.equal(main.GroupName, 'integrator-jobs');
  const target = main.Target as Record<string, unknown>;
  assert.deepEqual(JSON.parse(target.Input as string), {
    org: 'acme',
    jobId: 'profile',
    trigger: 'schedule',
    scheduledTime: '<aws.scheduler.scheduled-time>',
  });
  assert.deepEqual(target.DeadLetterConfig, { Arn: settings.deadLetterArn });
  // 8 March 2026 (02:00 PST does not exist; Scheduler would skip it); 14 March 2027 is past the 400 days.
  assert.deepEqual([...schedules.keys()].filter((n) => n !== 'acme.profile').sort(), ['acme.profile.20260308T1000']);
  const gap = schedules.get('acme.profile.20260308T1000')!;
  assert.equal(gap.ScheduleExpression, 'at(2026-03-08T10:00:00)');
  assert.equal(gap.ScheduleExpressionTimezone, 'UTC');
  assert.equal(gap.ActionAfterCompletion, 'DELETE');
});

test('paused: the schedule is kept DISABLED and its gap schedules go; draft or on arrival: nothing left', async () => {
  const { client, schedules } = fakeScheduler();
  const scheduler = eventBridgeScheduler(client, settings);
  await scheduler.sync(job);
  await scheduler.sync({ ...job, paused: true });
  assert.deepEqual([...schedules.keys()], ['acme.profile']);
  assert.equal(schedules.get('acme.profile')!.State, 'DISABLED');
  await scheduler.sync(job);
  assert.equal(schedules.size, 2);
  await scheduler.sync({ ...job, status: 'draft' });
  assert.equal(schedules.size, 0);
  // Idempotent: syncing again, or removing what is gone, changes nothing and fails nothing.
  await scheduler.sync({ ...job, status: 'draft' });
  await scheduler.remove('acme', 'profile');
  assert.equal(schedules.size, 0);
});

test('schedule names: readable when they fit, hashed when not; never one job in two names', () => {
  assert.equal(scheduleName('acme', 'profile'), 'acme.profile');
  const long = scheduleName('a-very-long-organization-name', 'and-a-long-job-id-too');
  assert.match(long, /^h\.[0-9a-f]{40}$/);
  assert.equal(long, scheduleName('a-very-long-organization-name', 'and-a-long-job-id-too'));
});
