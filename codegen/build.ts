// `npm run build`: dist/ from src/: one CommonJS bundle holding the whole library, a small ESM and
// CJS file per subpath that re-exports its part, and .d.ts files from tsc.
//
// One bundle, not an ESM build beside a CJS build: the library keeps state (which Registry owns
// which selector), and two copies would not know each other's objects (the dual-package hazard), so
// `import` and `require` of every subpath reach the same code. koffi stays external.
import { build } from 'esbuild';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** Subpath → source entry. `default` names entries with a default export. */
export const ENTRIES: { name: string; src: string; default?: boolean }[] = [
  { name: 'index', src: 'src/index.ts' },
  { name: 'net', src: 'src/net.ts' },
  { name: 'unix', src: 'src/unix.ts' },
  { name: 'sys', src: 'src/sys/index.ts', default: true },
  { name: 'windows', src: 'src/windows.ts' },
];

async function main(): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const common = { bundle: true, platform: 'node' as const, target: 'node20', external: ['koffi'], sourcemap: true, logLevel: 'warning' as const };

  const all = join(dist, '_all.ts');
  writeFileSync(all, ENTRIES.map((e) => `export * as ${e.name} from ${JSON.stringify(join(root, e.src).replace(/\.ts$/, '.js'))};`).join('\n') + '\n');
  await build({ ...common, entryPoints: [all], outfile: join(dist, 'metal-io.cjs'), format: 'cjs' });
  rmSync(all);
  const bundle = createRequire(import.meta.url)(join(dist, 'metal-io.cjs')) as Record<string, Record<string, unknown>>;
  for (const e of ENTRIES) {
    writeFileSync(join(dist, `${e.name}.cjs`), `'use strict';\nmodule.exports = require('./metal-io.cjs').${e.name};\n`);
    const names = Object.keys(bundle[e.name]!).filter((n) => n !== 'default').sort();
    writeFileSync(join(dist, `${e.name}.js`), [
      `import bundle from './metal-io.cjs';`,
      `const m = bundle.${e.name};`,
      `export const { ${names.join(', ')} } = m;`,
      ...(e.default ? ['export default m.default;'] : []),
      '',
    ].join('\n'));
  }

  const program = ts.createProgram(ENTRIES.map((e) => join(root, e.src)), {
    declaration: true, emitDeclarationOnly: true, outDir: join(dist, 'types'), rootDir: root, strict: true,
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'], types: ['node'], skipLibCheck: true, resolveJsonModule: true,
  });
  const result = program.emit();
  const diags = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (diags.length) {
    console.error(ts.formatDiagnosticsWithColorAndContext(diags, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
    process.exitCode = 1;
    return;
  }
  for (const e of ENTRIES) {
    const target = `./types/${e.src.replace(/\.ts$/, '.js')}`;
    const text = `export * from '${target}';\n${e.default ? `export { default } from '${target}';\n` : ''}`;
    writeFileSync(join(dist, `${e.name}.d.ts`), text);
    writeFileSync(join(dist, `${e.name}.d.cts`), text);
  }
  console.log(`built dist/: ${ENTRIES.map((e) => e.name).join(', ')} (ESM + CJS + .d.ts)`);
}

await main();
