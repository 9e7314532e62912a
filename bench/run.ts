// `npm run bench [-- section...]`: runs the selected benchmark sections (default all), each figure
// a ratio against a reference measured in the same run, then prints a summary and saves the JSON.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadString, printSummary, saveResults, type Result, type Section } from './lib.ts';
import { s3Section } from './s3.ts';
import { webSection } from './web.ts';
import { geoSection } from './geo.ts';
import { peersSection } from './peers.ts';
import { scaleSection } from './scale.ts';
import { commitSection } from './commit.ts';
import { memorySection } from './memory.ts';

/** Sections in run order. A cluster section (bench/geo.ts exporting a Section) plugs in here. */
const SECTIONS: Record<string, Section> = {
  s3: s3Section,
  web: webSection,
  geo: geoSection,
  peers: peersSection,
  scale: scaleSection,
  commit: commitSection,
  memory: memorySection,
};

const args = process.argv.slice(2).filter((a) => a !== '--');
const unknown = args.filter((a) => !(a in SECTIONS));
if (unknown.length) {
  console.error(`unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
const chosen = args.length ? args : Object.keys(SECTIONS);
const scale = Number(process.env.BENCH_SCALE ?? 1);
if (!(scale > 0)) throw new Error(`BENCH_SCALE must be a positive number, not ${process.env.BENCH_SCALE}`);

console.log(`grenier bench: ${chosen.join(', ')} (node ${process.version}, ${loadString()}, scale ${scale})`);
const results: Result[] = [];
let failed = false;
for (const name of chosen) {
  try {
    results.push(...(await SECTIONS[name]!({ scale })));
  } catch (e) {
    failed = true;
    console.error(`\nsection ${name} failed:`, e);
  }
}
printSummary(results);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const path = saveResults(results, join(fileURLToPath(new URL('.', import.meta.url)), `results-${stamp}.json`));
console.log(`\n${loadString()}; results written to ${path} (not committed)`);
process.exit(failed ? 1 : 0);
