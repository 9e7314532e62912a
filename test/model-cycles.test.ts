// Checks that src/model/ has no import cycles the runtime sees, and that its error class lives in a
// leaf module, so any model file can throw it without pulling in (and cycling through) the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MODEL = resolve(import.meta.dirname, '..', 'src', 'model');

/** file → the files of the same directory it imports. `import type` is erased by type stripping and
 *  is left out; `import { type X }` is kept (it still evaluates the module). */
function importGraph(dir: string, withTypes = false): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const edges: string[] = [];
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/^(?:import|export)(\s+type\b)?[^'"]*?from\s+['"]\.\/([^'"]+)['"]|import\(\s*['"]\.\/([^'"]+)['"]\s*\)/gm)) {
      if (m[1] && !withTypes) continue;
      edges.push(m[2] ?? m[3]!);
    }
    g.set(f, edges);
  }
  return g;
}

/** Every cycle found by a depth-first walk, each as a → b → … → a. */
function cycles(g: Map<string, string[]>): string[] {
  const out: string[] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const walk = (n: string): void => {
    const i = stack.indexOf(n);
    if (i >= 0) return void out.push([...stack.slice(i), n].join(' → '));
    if (done.has(n)) return;
    stack.push(n);
    for (const m of g.get(n) ?? []) walk(m);
    stack.pop();
    done.add(n);
  };
  for (const n of g.keys()) walk(n);
  return out;
}

test('the cycle scan finds a cycle (self-check on two files)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-cycles-'));
  try {
    writeFileSync(join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = 1;\n");
    writeFileSync(join(dir, 'b.ts'), "import type { T } from './c.ts';\nimport {\n  a,\n} from './a.ts';\nexport const b = 2;\n");
    writeFileSync(join(dir, 'c.ts'), "import { a } from './a.ts';\nexport type T = 1;\n");
    assert.deepEqual(cycles(importGraph(dir)), ['a.ts → b.ts → a.ts']);
    assert.equal(cycles(importGraph(dir, true)).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('src/model/ has no runtime import cycles', () => {
  const g = importGraph(MODEL);
  assert.ok([...g.values()].flat().length > 30, 'too few imports seen: the scan is broken');
  assert.deepEqual(cycles(g), []);
});

test('model/ takes ModelError from a leaf module, not from one that imports the model', () => {
  const g = importGraph(MODEL, true);
  const wrong: string[] = [];
  for (const f of g.keys()) {
    const text = readFileSync(join(MODEL, f), 'utf8');
    for (const m of text.matchAll(/import\s*\{[^}]*\bModelError\b[^}]*\}\s*from\s*['"]\.\/([^'"]+)['"]/g)) {
      if ((g.get(m[1]!) ?? []).length > 0) wrong.push(`${f} imports ModelError from ${m[1]}, which imports ${g.get(m[1]!)!.join(', ')}`);
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(g.has('errors.ts'), 'src/model/errors.ts holds ModelError');
});
