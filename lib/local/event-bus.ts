/**
 * The twin's event bus (EventBridge's stand-in): events are kept in memory, where tests in this process read them,
 * and each is written as a JSON file `.local/events/<time>-<event id>.json` (whole, then renamed: a reader never sees
 * half of one), as EventBridge would deliver it to a target: { id, source, detail-type, time, detail }. An archive for
 * replay is the folder itself. Registered as `local:integrator` (functions/adapters/integration-events.ts), so the
 * handlers reach it through the same port as the EventBridge bus.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerLocalEventBus } from '../../functions/adapters/integration-events.ts';
import { EVENT_SOURCE, type IntegrationEvent } from '../../functions/core/integration-events.ts';
import type { EventBus } from '../../functions/core/ports.ts';

export const LOCAL_EVENT_BUS = 'local:integrator';

/** An event as a target receives it from EventBridge (its `id` is the bus's own, one per delivery). */
export interface DeliveredEvent {
  version: '0';
  id: string;
  source: string;
  'detail-type': string;
  time: string;
  account: string;
  region: string;
  resources: string[];
  detail: IntegrationEvent['detail'];
}

export class LocalEventBus implements EventBus {
  readonly delivered: DeliveredEvent[] = [];
  private written = 0;

  constructor(private readonly directory: string) {}

  async put(events: readonly IntegrationEvent[]): Promise<void> {
    mkdirSync(this.directory, { recursive: true });
    for (const e of events) {
      const delivered: DeliveredEvent = {
        version: '0',
        id: randomUUID(),
        source: EVENT_SOURCE,
        'detail-type': e.detailType,
        time: e.time,
        account: '000000000000',
        region: process.env.AWS_REGION ?? 'us-east-1',
        resources: [],
        detail: e.detail,
      };
      const stamp = new Date().toISOString().replace(/[-:.]/g, '');
      const seq = String(this.written++).padStart(6, '0');
      const name = `${stamp}-${process.pid}-${seq}-${e.id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`;
      const tmp = join(this.directory, `.${name}.tmp`);
      writeFileSync(tmp, `${JSON.stringify(delivered, null, 2)}\n`);
      renameSync(tmp, join(this.directory, name));
      this.delivered.push(delivered);
    }
  }

  /** Registers this bus under `name`; returns the function that unregisters it. */
  register(name = LOCAL_EVENT_BUS): () => void {
    return registerLocalEventBus(name, this);
  }
}

/** Every event written to `directory` (another process's bus included), oldest first. */
export function readEventFiles(directory: string): DeliveredEvent[] {
  let names: string[];
  try {
    names = readdirSync(directory).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return [];
  }
  return names.sort().map((n) => JSON.parse(readFileSync(join(directory, n), 'utf8')) as DeliveredEvent);
}
