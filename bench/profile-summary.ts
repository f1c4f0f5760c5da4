/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --profile`): self time by function and by
 * source (our modules by file, dependencies by package), plus inclusive time of our own functions.
 * Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** `functions/core/transfer/mapping.ts`, `npm:csv-parse`, `node:internal/streams`, `(program)`. */
export function sourceOf(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'native'})`.replace(/^\(\((.*)\)\)$/, '($1)');
  const npm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const own = /\/(functions|lib|bench|schemas)\/(.*)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

export function summarizeProfile(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);

  const self = new Map<string, number>();
  const source = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    const src = sourceOf(url, functionName);
    const name = `${functionName || '(anonymous)'}  ${src}${url ? `:${lineNumber + 1}` : ''}`;
    self.set(name, (self.get(name) ?? 0) + ms);
    source.set(src, (source.get(src) ?? 0) + ms);
    // Inclusive time of our own functions: each sample counts once per distinct function on its stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!/\/(functions|bench)\//.test(frame.url) || frame.url.includes('node_modules')) continue;
      const key = `${frame.functionName || '(anonymous)'}  ${sourceOf(frame.url, frame.functionName)}:${frame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  }
  const list = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  return [
    `sampled ${total.toFixed(0)} ms`,
    '',
    'self time by source',
    ...list(source, top),
    '',
    'self time by function',
    ...list(self, top),
    '',
    'inclusive time of our functions',
    ...list(inclusive, top),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--top N]');
  const at = process.argv.indexOf('--top');
  const top = at > 0 ? Number(process.argv[at + 1]) : 25;
  console.log(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, top));
}
