/** What every benchmark scenario reports, measured inside its own process so peak RSS is its own. */
export interface ScenarioResult {
  scenario: string;
  rows: number;
  bytes: number;
  seconds: number;
  /** process.resourceUsage().maxRSS: the high-water mark of this process's resident memory. */
  peakRssMb: number;
  /**
   * Highest V8 heap in use (heapUsed, sampled every 100 ms) and highest memory outside it (Buffers and other
   * external memory): against peak RSS, how much was live data rather than garbage the collector had not reclaimed yet.
   */
  peakHeapUsedMb: number;
  peakExternalMb: number;
  /** CPU time (user + system) the measured part used: against `seconds`, how much of the time was spent waiting. */
  cpuSeconds: number;
  writeRequests?: number;
  /** Write units the scenario's requests would cost in AWS (countRequests), and the records they wrote. */
  writeUnits?: number;
  itemWrites?: number;
  notes?: string;
}

export async function measure(
  scenario: string,
  bytes: number,
  /** `bytes` from the body replaces the one given (a scenario that learns its size by running: an export). */
  body: () => Promise<{
    rows: number;
    writeRequests?: number;
    writeUnits?: number;
    itemWrites?: number;
    notes?: string;
    bytes?: number;
  }>,
): Promise<void> {
  const cpu = (u: NodeJS.ResourceUsage) => (u.userCPUTime + u.systemCPUTime) / 1e6;
  let peakHeapUsed = 0;
  let peakExternal = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeapUsed = Math.max(peakHeapUsed, m.heapUsed);
    peakExternal = Math.max(peakExternal, m.external);
  };
  const sampler = setInterval(sample, 100);
  const cpuBefore = cpu(process.resourceUsage());
  const start = process.hrtime.bigint();
  const { rows, writeRequests, writeUnits, itemWrites, notes, bytes: measured } = await body();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  clearInterval(sampler);
  sample();
  const usage = process.resourceUsage();
  // maxRSS is in kilobytes.
  const peakRssMb = usage.maxRSS / 1024;
  const cpuSeconds = cpu(usage) - cpuBefore;
  const result: ScenarioResult = {
    scenario,
    rows,
    bytes: measured ?? bytes,
    seconds,
    peakRssMb,
    peakHeapUsedMb: peakHeapUsed / 2 ** 20,
    peakExternalMb: peakExternal / 2 ** 20,
    cpuSeconds,
    writeRequests,
    ...(writeUnits !== undefined ? { writeUnits } : {}),
    ...(itemWrites !== undefined ? { itemWrites } : {}),
    notes,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** DynamoDB operations that write, as the SDK names their commands. */
export const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
  'ExecuteStatementCommand',
  'BatchExecuteStatementCommand',
  'ExecuteTransactionCommand',
]);

/** What a scenario sent to DynamoDB: requests by command, write requests, and the write units they would cost. */
export interface RequestTally {
  byCommand: Map<string, number>;
  writeRequests: number;
  /** Table write units: one per KB of each written item, two for a transactional write. */
  writeUnits: number;
  /** Records written (statements, items of batches and transactions, single writes). */
  itemWrites: number;
  /** `UpdateItem 410, BatchExecuteStatement 800, ...` */
  detail(): string;
}

/**
 * The write units one written item costs in AWS (on-demand or provisioned alike): 1 per started KB of the item, read
 * here from what the request carries for it (names and values as JSON: an estimate from above, close for the flat
 * string items the import writes; DynamoDB sizes the item after the write, which for an UPDATE includes attributes the
 * request does not name). Global secondary indexes cost the same again per index whose key or projection changes;
 * they are not counted here (the bench reports table units; README: import throughput).
 */
function unitsOf(part: unknown, transactional = false): number {
  const units = Math.max(1, Math.ceil(JSON.stringify(part ?? {}).length / 1024));
  return transactional ? 2 * units : units;
}

/** Per command, the items written and the write units they cost. */
function writesOf(name: string, input: Record<string, unknown>): { items: number; units: number } {
  const sum = (parts: unknown[], transactional = false) => ({
    items: parts.length,
    units: parts.reduce<number>((n, p) => n + unitsOf(p, transactional), 0),
  });
  switch (name) {
    case 'BatchExecuteStatementCommand': {
      // Sized without serializing (this runs inside the measured process): the text names the attributes, the
      // parameters carry the values.
      const statements = (input.Statements as { Statement: string; Parameters?: unknown[] }[]) ?? [];
      let units = 0;
      for (const st of statements) {
        let bytes = st.Statement.length;
        for (const p of st.Parameters ?? []) {
          const v = p as { S?: string; N?: string } | string | number;
          bytes += typeof v === 'object' ? (v.S ?? v.N ?? '').length : String(v).length;
        }
        units += Math.max(1, Math.ceil(bytes / 1024));
      }
      return { items: statements.length, units };
    }
    case 'BatchWriteItemCommand':
      return sum(Object.values((input.RequestItems as Record<string, unknown[]>) ?? {}).flat());
    case 'TransactWriteItemsCommand':
      return sum((input.TransactItems as unknown[]) ?? [], true);
    case 'ExecuteTransactionCommand':
      return sum((input.TransactStatements as unknown[]) ?? [], true);
    default:
      return { items: 1, units: unitsOf(input.Item ?? input.Parameters ?? input.ExpressionAttributeValues ?? input) };
  }
}

/**
 * Counts the requests a DynamoDB client sends (a middleware at the build step: once per command sent, the SDK's own
 * retries of a request are not counted again) and the write units they would cost. Benchmark only.
 */
export function countRequests(client: {
  middlewareStack: { add(middleware: unknown, options: { step: 'build'; name: string }): void };
}): RequestTally {
  const tally: RequestTally = {
    byCommand: new Map(),
    writeRequests: 0,
    writeUnits: 0,
    itemWrites: 0,
    detail: () => [...tally.byCommand].map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`).join(', '),
  };
  client.middlewareStack.add(
    (next: (args: { input: unknown }) => unknown, context: { commandName?: string }) => (args: { input: unknown }) => {
      const name = String(context.commandName);
      tally.byCommand.set(name, (tally.byCommand.get(name) ?? 0) + 1);
      if (WRITE_COMMANDS.has(name)) {
        const w = writesOf(name, args.input as Record<string, unknown>);
        tally.writeRequests++;
        tally.itemWrites += w.items;
        tally.writeUnits += w.units;
      }
      return next(args);
    },
    { step: 'build', name: 'benchCountRequests' },
  );
  return tally;
}
