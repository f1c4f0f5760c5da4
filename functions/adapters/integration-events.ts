import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { publishOncePerFact } from '../core/integration-events.ts';
import { type EventBus, type IntegrationEvents, systemClock } from '../core/ports.ts';
import { dynamoDbPublishedEvents } from './dynamodb-published-events.ts';
import { eventBridgeBus } from './eventbridge-bus.ts';

/** A bus name of this form is a bus living in this very process (the twin's, lib/local/event-bus.ts). */
export const LOCAL_BUS_PREFIX = 'local:';

const localBuses = new Map<string, EventBus>();

/** Makes an in-process bus reachable as `name` (`local:<name>`); returns the function that unregisters it. */
export function registerLocalEventBus(name: string, bus: EventBus): () => void {
  if (!name.startsWith(LOCAL_BUS_PREFIX)) throw new Error(`a local bus name starts with ${LOCAL_BUS_PREFIX}`);
  localBuses.set(name, bus);
  return () => {
    if (localBuses.get(name) === bus) localBuses.delete(name);
  };
}

/**
 * The IntegrationEvents port as the environment says: EVENT_BUS_NAME (CDK sets the stack's bus; the twin a
 * `local:` bus it registered) with the PublishedEvents table's markers. Undefined when EVENT_BUS_NAME is unset: the
 * handler then publishes nothing (a test's wiring, never a deployed function's: test/infra/events.test.ts).
 */
export function integrationEventsFromEnv(
  db: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv = process.env,
): IntegrationEvents | undefined {
  const name = env.EVENT_BUS_NAME;
  if (!name) return undefined;
  const bus: EventBus = name.startsWith(LOCAL_BUS_PREFIX)
    ? {
        // Looked up when used: the twin registers its bus before it delivers anything, but after building handlers.
        put: (events) => {
          const local = localBuses.get(name);
          if (!local) throw new Error(`no local event bus is registered as ${name}`);
          return local.put(events);
        },
      }
    : eventBridgeBus(name);
  return publishOncePerFact({
    bus,
    published: dynamoDbPublishedEvents(db, env),
    clock: systemClock,
    wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
}
