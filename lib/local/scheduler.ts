/**
 * The twin's stand-in for EventBridge Scheduler: each launched scheduled job's schedule, fired in-process with the
 * guarantees the job-runs handler relies on in AWS:
 * - the same runs: `nextRuns` (functions/core/transfer/schedules.ts) is what the EventBridge cron expression plus its
 *   one-time schedules for spring-forward gaps fire, so the twin fires exactly that;
 * - the same message: `{ org, jobId, trigger: 'schedule', scheduledTime }`, the target input EventBridge sends with
 *   `<aws.scheduler.scheduled-time>` filled in, onto the job-runs queue (durable, at least once);
 * - a paused job's schedule is kept but disabled (fires nothing), a draft or on-arrival job has none.
 *
 * Its clock follows the real one (a timer every `tickMs`) until a test takes it over: `jumpTo` moves it without firing
 * (to the eve of a DST day), `advanceTo` moves it forward firing every run in between, in time order.
 * Schedules live in memory and are rebuilt from the Jobs table when the twin starts (EventBridge keeps them durably;
 * the jobs are the source either way).
 */
import type { Job, JobScheduler } from '../../functions/core/ports.ts';
import { activeSchedule, keptSchedule } from '../../functions/core/transfer/jobs.ts';
import { nextRuns, type Schedule } from '../../functions/core/transfer/schedules.ts';

interface Entry {
  org: string;
  jobId: string;
  schedule: Schedule;
  enabled: boolean;
}

export interface LocalSchedulerOptions {
  /** Puts a message on the job-runs queue. */
  send(body: string): void | Promise<void>;
  /** Real-clock polling interval; default 1 s. */
  tickMs?: number;
  now?: () => Date;
  log?: (entry: Record<string, unknown>) => void;
}

export class LocalScheduler implements JobScheduler {
  private readonly entries = new Map<string, Entry>();
  private last: Date;
  private timer: NodeJS.Timeout | undefined;
  private manual = false;
  private firing: Promise<void> = Promise.resolve();
  private readonly now: () => Date;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.now = options.now ?? (() => new Date());
    this.last = this.now();
  }

  /** Follows the real clock from now on (until a test takes the clock over). */
  start(): void {
    this.timer ??= setInterval(() => {
      if (!this.manual) void this.fireUntil(this.now());
    }, this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.firing;
  }

  async sync(job: Job): Promise<void> {
    const key = `${job.org}/${job.jobId}`;
    const schedule = keptSchedule(job);
    if (!schedule) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, {
      org: job.org,
      jobId: job.jobId,
      schedule,
      enabled: activeSchedule(job) !== undefined,
    });
  }

  async remove(org: string, jobId: string): Promise<void> {
    this.entries.delete(`${org}/${jobId}`);
  }

  /** What a schedule of the job looks like here (tests): undefined when it has none. */
  scheduleOf(org: string, jobId: string): { schedule: Schedule; enabled: boolean } | undefined {
    const e = this.entries.get(`${org}/${jobId}`);
    return e ? { schedule: e.schedule, enabled: e.enabled } : undefined;
  }

  /** The scheduler's time: the real one, or the one a test set. The run watch's missed-firing check reads it. */
  currentTime(): Date {
    return this.manual ? this.last : this.now();
  }

  /** Takes the clock over and sets it to `at` without firing anything. */
  async jumpTo(at: Date): Promise<void> {
    this.manual = true;
    await this.firing;
    this.last = at;
  }

  /** Takes the clock over and moves it forward to `at`, firing every run in between, in time order. */
  async advanceTo(at: Date): Promise<void> {
    this.manual = true;
    await this.fireUntil(at);
  }

  private fireUntil(until: Date): Promise<void> {
    this.firing = this.firing.then(async () => {
      if (until.getTime() <= this.last.getTime()) return;
      const due: { at: Date; entry: Entry }[] = [];
      for (const entry of this.entries.values()) {
        if (!entry.enabled) continue;
        let from = this.last;
        for (;;) {
          const runs = nextRuns(entry.schedule, from, 50).filter((r) => r.getTime() <= until.getTime());
          for (const at of runs) due.push({ at, entry });
          if (runs.length < 50) break;
          from = runs[runs.length - 1]!;
        }
      }
      due.sort((a, b) => a.at.getTime() - b.at.getTime());
      for (const { at, entry } of due) {
        const body = { org: entry.org, jobId: entry.jobId, trigger: 'schedule', scheduledTime: at.toISOString() };
        this.options.log?.({ level: 'INFO', message: 'schedule fired', ...body });
        await this.options.send(JSON.stringify(body));
      }
      this.last = until;
    });
    // A failed send (the queue closed) is logged; the chain stays usable for the next tick.
    this.firing = this.firing.catch((err) => {
      this.options.log?.({ level: 'ERROR', message: 'schedule firing failed', error: String(err) });
    });
    return this.firing;
  }
}
