// Bundles test files to plain JavaScript with the host's esbuild, for a Node of another CPU or OS
// (arm64 under qemu, Windows under Wine) that cannot run esbuild/tsx itself.
// Usage: tsx test/platform/bundle-tests.ts OUT_DIR REGEX

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [out, pattern] = process.argv.slice(2);
if (!out || !pattern) throw new Error('usage: bundle-tests.ts OUT_DIR REGEX');
const re = new RegExp(pattern);
const files = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts') && re.test(f));
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, '_util'), { recursive: true });
const common = {
  bundle: true,
  platform: 'node' as const,
  format: 'esm' as const,
  target: 'node20',
  external: ['koffi', 'uvu', 'uvu/*'],
  logLevel: 'warning' as const,
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
await build({
  ...common,
  entryPoints: files.map((f) => join(root, 'test', f)),
  outdir: out,
  outExtension: { '.js': '.mjs' },
  entryNames: '[name]',
});
// Workers the tests start by URL ('./_util/wake-worker.mjs'), as plain JavaScript beside them.
for (const w of ['wake-worker', 'hold-worker', 'run-worker']) {
  await build({ ...common, entryPoints: [join(root, `test/_util/${w}-body.ts`)], outfile: join(out, '_util', `${w}.mjs`) });
}
console.log(`bundled ${files.length} test files into ${out}`);
