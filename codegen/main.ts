// `npm run codegen`: validates syscalls.yaml and rebuilds generated/ from scratch.
// `npm run codegen -- --check`: writes nothing; exits 1 with a diff when generated/ is stale.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitAll } from './emit.js';
import { loadSpec, SpecError } from './model.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)));
}

/** Line diff of two texts, short: the first differing lines with a little context. */
export function shortDiff(a: string, b: string, max = 20): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(x.length, y.length) && out.length < max; i++) {
    if (x[i] !== y[i]) out.push(`  line ${i + 1}:\n    - ${x[i] ?? '(none)'}\n    + ${y[i] ?? '(none)'}`);
  }
  return out.join('\n');
}

/** Compares generated/ with what the YAML gives; returns the problems (empty when current). */
export function checkGenerated(specPath = join(root, 'syscalls.yaml')): string[] {
  const files = emitAll(loadSpec(specPath));
  const problems: string[] = [];
  for (const [path, text] of files) {
    const full = join(root, path);
    if (!existsSync(full)) {
      problems.push(`missing ${path}`);
      continue;
    }
    const have = readFileSync(full, 'utf8');
    if (have !== text) problems.push(`stale ${path}:\n${shortDiff(have, text)}`);
  }
  for (const path of listFiles(join(root, 'generated'))) if (!files.has(path)) problems.push(`extra ${path} (no longer generated)`);
  return problems;
}

function main(argv: string[]): number {
  try {
    if (argv.includes('--check')) {
      const problems = checkGenerated();
      if (problems.length) {
        console.error(`generated/ is stale; run \`npm run codegen\`:\n${problems.join('\n')}`);
        return 1;
      }
      console.log('generated/ is current');
      return 0;
    }
    const files = emitAll(loadSpec(join(root, 'syscalls.yaml')));
    rmSync(join(root, 'generated'), { recursive: true, force: true });
    for (const [path, text] of files) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    console.log(`wrote ${files.size} files to generated/`);
    return 0;
  } catch (e) {
    if (e instanceof SpecError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
