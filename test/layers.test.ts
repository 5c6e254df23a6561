// The layers, read from the imports: src/sys/ is the ground floor (it imports nothing above it but
// the vocabulary every layer shares), src/ has no import cycle, and no file above src/sys/ makes a
// platform decision (an OS test, a Winsock error name, a backend's class, koffi itself).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const sys = join(src, 'sys');
/** The vocabulary below every layer: plain values and checks, importing nothing of the library's. */
const VOCABULARY = ['token.ts', 'interest.ts', 'validators.ts', 'debug.ts'].map((f) => join(src, f));

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** Every relative import and re-export of each file under src/ (static `import`/`export ... from`, and dynamic `import()`). */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const f of filesUnder(src)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/gm)) {
      out.push({ from: f, to: resolve(dirname(f), m[2]!).replace(/\.js$/, '.ts'), typeOnly: m[1] !== undefined });
    }
    for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g))
      out.push({ from: f, to: resolve(dirname(f), m[1]!).replace(/\.js$/, '.ts'), typeOnly: false });
  }
  return out;
}

const rel = (p: string) => relative(root, p).split(sep).join('/');
const inside = (p: string, dir: string) => p === dir || p.startsWith(dir + sep);

test('the import scan sees the imports (a check of the check: src/poll.ts imports src/sys/selector.ts, and src/sys/ imports the vocabulary)', () => {
  const all = edges();
  assert.ok(all.length > 200, `${all.length} imports found`);
  assert.ok(all.some((e) => rel(e.from) === 'src/poll.ts' && rel(e.to) === 'src/sys/selector.ts'));
  assert.ok(
    all.some((e) => inside(e.from, sys) && VOCABULARY.includes(e.to)),
    'src/sys/ uses the vocabulary',
  );
});

test('src/sys/ imports nothing above it: only src/sys/, generated/ and the vocabulary (token, interest, validators, debug), type imports included', () => {
  const up = edges().filter((e) => inside(e.from, sys) && inside(e.to, src) && !inside(e.to, sys) && !VOCABULARY.includes(e.to));
  assert.equal(
    up.map((e) => `${rel(e.from)} -> ${rel(e.to)}${e.typeOnly ? ' (type)' : ''}`),
    [],
  );
  const vocabularyImports = edges().filter((e) => VOCABULARY.includes(e.from) && inside(e.to, src) && !VOCABULARY.includes(e.to));
  assert.equal(
    vocabularyImports.map((e) => `${rel(e.from)} -> ${rel(e.to)}`),
    [],
    'the vocabulary imports only itself',
  );
});

test('src/ has no import cycle (imports that run: type-only ones are erased)', () => {
  const graph = new Map<string, string[]>();
  for (const e of edges()) if (!e.typeOnly && inside(e.to, src)) (graph.get(e.from) ?? graph.set(e.from, []).get(e.from)!).push(e.to);
  // Tarjan's strongly connected components: any with more than one file (or a file importing itself) is a cycle.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(c.map(rel).sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  assert.equal(cycles, []);
});

test('no platform decision above src/sys/: no OS test, no Winsock error name, no backend class, no koffi', () => {
  const rules: [RegExp, string][] = [
    [/\bprocess\.platform\b|\bos\.platform\(|\bplatform\(\)/, 'an OS test'],
    [/\bWSAE[A-Z]+\b|\bSD_(RECEIVE|SEND|BOTH)\b/, 'a Winsock name'],
    [/\binstanceof\s+\w*Selector\b/, "a backend's class"],
    [/from\s+'koffi'|require\('koffi'\)/, 'koffi itself'],
  ];
  const found: string[] = [];
  for (const f of filesUnder(src)) {
    if (inside(f, sys)) continue;
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        for (const [re, what] of rules) if (re.test(code)) found.push(`${rel(f)}:${i + 1}: ${what}: ${line.trim()}`);
      });
  }
  assert.equal(found, []);
});

test.run();
