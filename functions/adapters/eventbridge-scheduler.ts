import { createHash } from 'node:crypto';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  type Target,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { Clock, Job, JobScheduler } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { activeSchedule, keptSchedule } from '../core/transfer/jobs.ts';
import { eventBridgeAt, eventBridgeSchedule, shiftedRuns } from '../core/transfer/schedules.ts';

/**
 * Each launched scheduled job's EventBridge Scheduler schedule, in the stack's schedule group (lib/aws/schedules.ts),
 * targeting the job-runs queue with the job's run request as input (`<aws.scheduler.scheduled-time>` filled in by
 * Scheduler), through the role Scheduler assumes, with the target's dead-letter queue and retries.
 *
 * - The job's schedule (`<org>.<jobId>`, hashed when longer than 44 characters) is the cron expression and time zone
 *   of schedules.ts `eventBridgeSchedule`. Scheduler skips a cron time that does not exist (spring forward), where our
 *   rule runs once when the clock has jumped: for each such run in the next 400 days a one-time schedule
 *   (`<name>.<yyyymmddThhmm>`, `at(...)` in UTC, deleted by Scheduler after it ran) fills the gap. The job's schedule
 *   and its one-time schedules together fire exactly `nextRuns`.
 * - Paused: the schedule is kept, DISABLED (it stays the job's, visible to operators as such, and resuming is one
 *   update that recomputes nothing); its one-time gap schedules are deleted (recreated on resume).
 * - Draft, on arrival, or deleted: no schedule (and no gap schedules).
 * Every call is idempotent: `sync` makes the schedules what the job says, whatever existed before.
 */
export interface EventBridgeSchedulerSettings {
  group: string;
  /** The job-runs queue (the target). */
  queueArn: string;
  /** The role Scheduler assumes to send to the queue. */
  roleArn: string;
  /** The target's dead-letter queue: firings Scheduler could not deliver. */
  deadLetterArn: string;
  clock?: Clock;
}

const GAP_HORIZON_DAYS = 400;

export function scheduleName(org: string, jobId: string): string {
  const plain = `${org}.${jobId}`;
  return plain.length <= 44 ? plain : `h.${createHash('sha256').update(`${org}/${jobId}`).digest('hex').slice(0, 40)}`;
}

function gapName(base: string, at: Date): string {
  return `${base}.${at.toISOString().slice(0, 16).replace(/[-:]/g, '')}`;
}

const isNotFound = (err: unknown) => err instanceof ResourceNotFoundException;
const isConflict = (err: unknown) => err instanceof ConflictException;

export function eventBridgeScheduler(client: SchedulerClient, settings: EventBridgeSchedulerSettings): JobScheduler {
  const clock = settings.clock ?? systemClock;
  const target = (job: Job): Target => ({
    Arn: settings.queueArn,
    RoleArn: settings.roleArn,
    Input: JSON.stringify({
      org: job.org,
      jobId: job.jobId,
      trigger: 'schedule',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    }),
    DeadLetterConfig: { Arn: settings.deadLetterArn },
    // A firing that cannot be delivered within an hour is dead-lettered (and alarmed on), not retried into the day.
    RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
  });

  const remove = async (name: string) => {
    try {
      await client.send(new DeleteScheduleCommand({ Name: name, GroupName: settings.group }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const gapsOf = async (base: string): Promise<string[]> => {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const out = await client.send(
        new ListSchedulesCommand({ GroupName: settings.group, NamePrefix: `${base}.`, NextToken: token }),
      );
      for (const s of out.Schedules ?? []) if (s.Name) names.push(s.Name);
      token = out.NextToken;
    } while (token);
    return names;
  };

  return {
    async sync(job) {
      const base = scheduleName(job.org, job.jobId);
      const scheduled = keptSchedule(job);
      const existingGaps = await gapsOf(base);
      if (!scheduled) {
        await remove(base);
        for (const name of existingGaps) await remove(name);
        return;
      }
      const { expression, timezone } = eventBridgeSchedule(scheduled);
      const definition = {
        Name: base,
        GroupName: settings.group,
        ScheduleExpression: expression,
        ScheduleExpressionTimezone: timezone,
        State: activeSchedule(job) ? ('ENABLED' as const) : ('DISABLED' as const),
        FlexibleTimeWindow: { Mode: 'OFF' as const },
        Target: target(job),
        Description: `Integrator job ${job.jobId} of ${job.org}`,
      };
      try {
        await client.send(new UpdateScheduleCommand(definition));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        try {
          await client.send(new CreateScheduleCommand(definition));
        } catch (createErr) {
          // Created meanwhile by a concurrent save: make it this definition.
          if (!isConflict(createErr)) throw createErr;
          await client.send(new UpdateScheduleCommand(definition));
        }
      }
      const now = clock.now();
      const gaps = activeSchedule(job)
        ? shiftedRuns(scheduled, now, new Date(now.getTime() + GAP_HORIZON_DAYS * 86_400_000))
        : [];
      const wanted = new Map(gaps.map((at) => [gapName(base, at), at]));
      for (const name of existingGaps) if (!wanted.has(name)) await remove(name);
      for (const [name, at] of wanted) {
        if (existingGaps.includes(name)) continue;
        const once = eventBridgeAt(at);
        try {
          await client.send(
            new CreateScheduleCommand({
              Name: name,
              GroupName: settings.group,
              ScheduleExpression: once.expression,
              ScheduleExpressionTimezone: once.timezone,
              FlexibleTimeWindow: { Mode: 'OFF' },
              ActionAfterCompletion: 'DELETE',
              Target: target(job),
              Description: `Integrator job ${job.jobId} of ${job.org}: the run a daylight-saving gap skips`,
            }),
          );
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
    },

    async remove(org, jobId) {
      const base = scheduleName(org, jobId);
      await remove(base);
      for (const name of await gapsOf(base)) await remove(name);
    },
  };
}

/** From the environment CDK sets on the API and scheduled-run functions; undefined when SCHEDULE_GROUP is unset. */
export function eventBridgeSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): EventBridgeSchedulerSettings | undefined {
  const { SCHEDULE_GROUP, JOB_RUNS_QUEUE_ARN, SCHEDULER_ROLE_ARN, SCHEDULER_DLQ_ARN } = env;
  if (!SCHEDULE_GROUP || !JOB_RUNS_QUEUE_ARN || !SCHEDULER_ROLE_ARN || !SCHEDULER_DLQ_ARN) return undefined;
  return {
    group: SCHEDULE_GROUP,
    queueArn: JOB_RUNS_QUEUE_ARN,
    roleArn: SCHEDULER_ROLE_ARN,
    deadLetterArn: SCHEDULER_DLQ_ARN,
  };
}
