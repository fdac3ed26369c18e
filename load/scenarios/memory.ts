/** M1 (idle RSS after start, connected) and M2 (RSS during P1 across rounds: flat, no growth). */
import { rssMb, rssPartsMb } from '../lib/proc.js';
import { median } from '../lib/stats.js';
import type { RoundResult, Row, Scenario } from './types.js';

const SETTLE_MS = 3000;
/**
 * After start-up V8 keeps the young generation it grew while loading modules (its semi-spaces at their maximum) until
 * a memory-reducing collection: Node 20 often got one within half a minute of idling, Node 24 never did, so the
 * gateway runs one itself 1 s after listening (src/startup-memory.ts; docs/performance.md, "Idle memory"). Round 1
 * also reads RSS at SETTLED_AFTER_MS, so both numbers are on record.
 */
const SETTLED_AFTER_MS = 45_000;

export const M1: Scenario = {
  id: 'M1',
  title: 'idle gateway RSS (round 1: after start, before any load; later rounds: idle between rounds)',
  async round(ctx): Promise<RoundResult> {
    if (ctx.pids.gateway === undefined) return {};
    const pid = ctx.pids.gateway;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const idleRssMb = rssMb(pid);
    if (ctx.round !== 1) return { values: { idleRssMb } };
    // RSS by kind (docs/performance.md, "Idle memory"): the private part is what the gateway's own code and V8
    // decide; the file-backed part is mostly the node binary, which differs by Node version and is shared.
    const idle = rssPartsMb(pid);
    let settledRssMb = idleRssMb;
    for (let t = SETTLE_MS; t < SETTLED_AFTER_MS; t += 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      settledRssMb = rssMb(pid);
    }
    const settled = rssPartsMb(pid);
    return {
      values: {
        idleRssMb,
        idleAnonMb: idle.anon,
        idleFileMb: idle.file,
        settledRssMb,
        settledAnonMb: settled.anon,
        settledFileMb: settled.file,
      },
    };
  },
  summarize(rounds): Row[] {
    const first = rounds[0]?.values?.idleRssMb;
    const later = rounds
      .slice(1)
      .map((r) => r.values?.idleRssMb)
      .filter((x): x is number => x !== undefined);
    const r1 = rounds[0]?.values ?? {};
    const settled = r1.settledRssMb;
    const rows: Row[] = [];
    const parts = (anon: number | undefined, file: number | undefined) =>
      anon === undefined || file === undefined
        ? undefined
        : `private (RssAnon) ${anon.toFixed(1)}, file-backed (RssFile) ${file.toFixed(1)}`;
    if (first !== undefined)
      rows.push({
        id: 'M1',
        metric: `RSS idle ${SETTLE_MS / 1000} s after start, connected to the broker`,
        unit: 'MiB',
        gateway: first,
        target: '≤ 80 MiB',
        ok: first <= 80,
        ...optionalNote(parts(r1.idleAnonMb, r1.idleFileMb)),
      });
    if (r1.idleAnonMb !== undefined)
      rows.push({
        id: 'M1',
        metric: `private memory (RssAnon) idle ${SETTLE_MS / 1000} s after start`,
        unit: 'MiB',
        gateway: r1.idleAnonMb,
        target: 'report',
      });
    if (settled !== undefined)
      rows.push({
        id: 'M1',
        metric: `RSS idle ${SETTLED_AFTER_MS / 1000} s after start`,
        unit: 'MiB',
        gateway: settled,
        target: 'report',
        ...optionalNote(parts(r1.settledAnonMb, r1.settledFileMb)),
      });
    if (later.length)
      rows.push({
        id: 'M1',
        metric: 'RSS idle between rounds (after load)',
        unit: 'MiB',
        gateway: median(later),
        target: 'report',
        note: later.map((x) => x.toFixed(0)).join(', '),
      });
    return rows;
  },
};

const optionalNote = (note: string | undefined) => (note === undefined ? {} : { note });

/** Flat = the last round's peak within this much of the first round's. */
const GROWTH_LIMIT = 0.1;

export const M2: Scenario = {
  id: 'M2',
  title: 'gateway RSS during P1, per round (flat over time)',
  round: async () => ({}),
  summarize(_rounds, all): Row[] {
    const peaks = (all.get('P1') ?? [])
      .map((r) => r.gateway?.rssMaxMb?.gateway)
      .filter((x): x is number => x !== undefined);
    if (peaks.length === 0) return [];
    // Round 1 includes the heap's warm-up (V8 grows it to its working size): flat is judged from round 2 on.
    const from = peaks.length >= 3 ? 1 : 0;
    const growth = (peaks[peaks.length - 1]! - peaks[from]!) / peaks[from]!;
    return [
      {
        id: 'M2',
        metric: 'peak RSS during P1 (median of rounds)',
        unit: 'MiB',
        gateway: median(peaks),
        target: 'report',
        note: `per round: ${peaks.map((x) => x.toFixed(0)).join(', ')}`,
      },
      {
        id: 'M2',
        metric: `peak RSS growth, round ${from + 1} → last`,
        unit: '%',
        gateway: growth * 100,
        target: `flat (≤ ${GROWTH_LIMIT * 100}%)`,
        ok: growth <= GROWTH_LIMIT,
      },
    ];
  },
};
