/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by area (our code, each
 * npm package, Node internals, GC, idle).
 *
 *   npx tsx load/profile-summary.ts <file.cpuprofile> [top=30]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where a function lives: "ours", "bundle (ours and bundled packages)" for the built bundle, "npm:<package>" (the
 * innermost node_modules), "node:<module>" for Node's built-ins, or V8's pseudo-frames by name. The CPU profile
 * summary below and load/probe-alloc.ts both sort frames with it.
 */
export function area(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  if (url.includes('/bundle/')) return 'bundle (ours and bundled packages)';
  if (/\/(src|load\/\.build)\//.test(url)) return 'ours';
  return 'other';
}

export function summarizeProfile(file: string, top = 30): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++)
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfUs]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)')
    .reduce((a, [, us]) => a + us, 0);
  const busy = total - idle;

  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const a = area(url, functionName);
    if (a === '(idle)') continue;
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|load\/\.build)\//, '$1/');
    const key = `${functionName || '(anonymous)'}  ${short}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const lines = [
    `busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s sampled (idle ${((idle / total) * 100).toFixed(0)}%); shares below are of busy time`,
    '',
    'by area:',
    ...[...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([a, us]) => `  ${pct(us)}  ${a}`),
    '',
    `top ${top} functions by self time:`,
    ...[...fns]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([f, us]) => `  ${pct(us)}  ${f}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: tsx load/profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${summarizeProfile(file, Number(process.argv[3] ?? 30))}\n`);
}
