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
  notes?: string;
}

export async function measure(
  scenario: string,
  bytes: number,
  /** `bytes` from the body replaces the one given (a scenario that learns its size by running: an export). */
  body: () => Promise<{ rows: number; writeRequests?: number; notes?: string; bytes?: number }>,
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
  const { rows, writeRequests, notes, bytes: measured } = await body();
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
    notes,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
