// Sums a V8 .cpuprofile (from bench/cpu.ts --prof) by function: self time and total (inclusive)
// time of the top entries, to find where a workload's server CPU goes.
//   ./node_modules/.bin/node bench/cpu-top.ts FILE.cpuprofile [N] [focus]
// With focus, only samples whose stack holds a function of that name count (e.g. ListObjectsV2);
// with @focus, every sample between the first and the last such sample (GC, HTTP, timers too).
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const [file, nStr, focus] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: Node) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/work\/main\//, '')}:${n.callFrame.lineNumber + 1}`;
const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
const windowed = focus?.startsWith('@');
const fname = windowed ? focus!.slice(1) : focus;
const under = (i: number): boolean => {
  for (let id: number | undefined = prof.samples[i]!; id !== undefined; id = parent.get(id)) if (byId.get(id)!.callFrame.functionName === fname) return true;
  return false;
};
let first = 0;
let last = prof.samples.length - 1;
if (windowed) {
  while (first < last && !under(first)) first++;
  while (last > first && !under(last)) last--;
  let us = 0;
  for (let i = first + 1; i <= last; i++) us += prof.timeDeltas[i] ?? 0;
  console.log(`window: samples ${first}..${last}, ${(us / 1000).toFixed(0)} ms wall`);
}
for (let i = first; i <= last; i++) {
  const dt = (prof.timeDeltas[i] ?? 0) / 1000;
  const leaf = byId.get(prof.samples[i]!)!;
  if (leaf.callFrame.functionName === '(idle)') continue;
  if (focus && !windowed) {
    let hit = false;
    for (let id: number | undefined = leaf.id; id !== undefined && !hit; id = parent.get(id)) hit = byId.get(id)!.callFrame.functionName === focus;
    if (!hit) continue;
  }
  all += dt;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id)!);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + dt);
  }
}
const n = Number(nStr ?? 30);
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (of ${all.toFixed(0)} ms non-idle${focus ? ` under ${focus}` : ''})`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${v.toFixed(1).padStart(9)} ms ${((100 * v) / all).toFixed(1).padStart(5)}%  ${k}`);
};
show('self', self);
show('total', total);
