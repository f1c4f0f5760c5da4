/** What every benchmark scenario reports, measured inside its own process so peak RSS is its own. */
export interface ScenarioResult {
  scenario: string;
  rows: number;
  bytes: number;
  seconds: number;
  peakRssMb: number;
  writeRequests?: number;
  notes?: string;
}

export async function measure(
  scenario: string,
  bytes: number,
  body: () => Promise<{ rows: number; writeRequests?: number; notes?: string }>,
): Promise<void> {
  const start = process.hrtime.bigint();
  const { rows, writeRequests, notes } = await body();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  // maxRSS is in kilobytes: the high-water mark of this process's resident memory.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const result: ScenarioResult = { scenario, rows, bytes, seconds, peakRssMb, writeRequests, notes };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
