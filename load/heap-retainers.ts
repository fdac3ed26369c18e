/**
 * Who keeps the large buffers of a V8 heap snapshot alive (load/probe-assign-heap.ts writes one). Prints the
 * snapshot's biggest node kinds by self size, then, for the largest ArrayBuffer backing stores (and other big
 * nodes), a shortest retainer path from a GC root (weak edges skipped), one line per hop.
 *
 *   node load/heap-retainers.ts <file.heapsnapshot> [paths=8] [minBytes=65536]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: heap-retainers.ts <file.heapsnapshot> [paths] [minBytes]');
const PATHS = Number(process.argv[3] ?? 8);
const MIN_BYTES = Number(process.argv[4] ?? 65536);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const { meta } = snap.snapshot;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSize = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const nId = meta.node_fields.indexOf('id');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = snap;
const count = nodes.length / NF;

const typeOf = (n: number) => nodeTypes[nodes[n * NF + nType]!]!;
const nameOf = (n: number) => strings[nodes[n * NF + nName]!]!;
const sizeOf = (n: number) => nodes[n * NF + nSize]!;
const label = (n: number) =>
  `${typeOf(n)} ${JSON.stringify(nameOf(n).slice(0, 60))} @${nodes[n * NF + nId]} (${sizeOf(n)} B)`;

// First edge of each node, and the reverse edges (retainers), skipping weak ones.
const firstEdge = new Uint32Array(count + 1);
for (let n = 0, e = 0; n < count; n++) {
  firstEdge[n] = e;
  e += nodes[n * NF + nEdges]! * EF;
}
firstEdge[count] = edges.length;
const retainerCount = new Uint32Array(count);
const edgeLabel = (e: number) => {
  const t = edgeTypes[edges[e + eType]!]!;
  const v = edges[e + eName]!;
  return t === 'element' || t === 'hidden' ? `[${v}]` : t === 'shortcut' ? `<${strings[v]}>` : `.${strings[v]}`;
};
const weak = (e: number) => edgeTypes[edges[e + eType]!] === 'weak';
for (let e = 0; e < edges.length; e += EF) if (!weak(e)) retainerCount[edges[e + eTo]! / NF]!++;
const retStart = new Uint32Array(count + 1);
for (let n = 0; n < count; n++) retStart[n + 1] = retStart[n]! + retainerCount[n]!;
const retFrom = new Uint32Array(retStart[count]!);
const retEdge = new Uint32Array(retStart[count]!);
const fill = retStart.slice(0, count);
for (let n = 0; n < count; n++)
  for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) {
    if (weak(e)) continue;
    const to = edges[e + eTo]! / NF;
    const at = fill[to]!++;
    retFrom[at] = n;
    retEdge[at] = e;
  }

// Distance from the roots (node 0 is the synthetic root), BFS over strong edges.
const dist = new Int32Array(count).fill(-1);
const parent = new Int32Array(count).fill(-1);
const parentEdge = new Int32Array(count).fill(-1);
dist[0] = 0;
const queue = new Uint32Array(count);
let qh = 0;
let qt = 0;
queue[qt++] = 0;
while (qh < qt) {
  const n = queue[qh++]!;
  for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) {
    if (weak(e)) continue;
    const to = edges[e + eTo]! / NF;
    if (dist[to] !== -1) continue;
    dist[to] = dist[n]! + 1;
    parent[to] = n;
    parentEdge[to] = e;
    queue[qt++] = to;
  }
}

// Totals by (type, name) for the biggest kinds.
const kinds = new Map<string, { n: number; bytes: number }>();
for (let n = 0; n < count; n++) {
  const k = `${typeOf(n)} ${nameOf(n).slice(0, 50)}`;
  const v = kinds.get(k) ?? { n: 0, bytes: 0 };
  v.n++;
  v.bytes += sizeOf(n);
  kinds.set(k, v);
}
console.log('biggest kinds by self size:');
for (const [k, v] of [...kinds].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15))
  console.log(`  ${(v.bytes / 1048576).toFixed(1).padStart(8)} MiB  ${String(v.n).padStart(7)} × ${k}`);

const big: number[] = [];
for (let n = 0; n < count; n++) if (sizeOf(n) >= MIN_BYTES) big.push(n);
big.sort((a, b) => sizeOf(b) - sizeOf(a));
console.log(
  `\n${big.length} nodes of ≥ ${MIN_BYTES} B, ${(big.reduce((a, n) => a + sizeOf(n), 0) / 1048576).toFixed(1)} MiB`,
);

// Group the big nodes by their retainer chain's shape (names along the path), to see which holders dominate.
const chainOf = (n: number): string[] => {
  const out: string[] = [];
  for (let cur = n; cur > 0 && parent[cur]! >= 0; cur = parent[cur]!)
    out.push(`${edgeLabel(parentEdge[cur]!)} ← ${label(parent[cur]!)}`);
  return out;
};
const shapes = new Map<string, { n: number; bytes: number; example: number }>();
for (const n of big) {
  const shape = chainOf(n)
    .slice(0, 8)
    .map((l) => l.replace(/@\d+ \(\d+ B\)/, '').replace(/\[\d+\]/, '[i]'))
    .join(' | ');
  const v = shapes.get(shape) ?? { n: 0, bytes: 0, example: n };
  v.n++;
  v.bytes += sizeOf(n);
  shapes.set(shape, v);
}
let shown = 0;
for (const [, v] of [...shapes].sort((a, b) => b[1].bytes - a[1].bytes)) {
  if (shown++ >= PATHS) break;
  console.log(
    `\n${v.n} big nodes, ${(v.bytes / 1048576).toFixed(1)} MiB, retained like ${label(v.example)} (depth ${dist[v.example]}):`,
  );
  for (const line of chainOf(v.example).slice(0, 30)) console.log(`   ${line}`);
  // Other retainers of the first hops: a node kept by several holders needs all of them gone.
  const first = v.example;
  const others = [];
  for (let i = retStart[first]!; i < retStart[first + 1]!; i++)
    others.push(`${edgeLabel(retEdge[i]!)} ← ${label(retFrom[i]!)}`);
  console.log(`   (all retainers of the node: ${others.length}) ${others.slice(0, 6).join('; ')}`);
}
