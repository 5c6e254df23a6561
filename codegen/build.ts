// `npm run build`: dist/ from src/: one CommonJS bundle holding the whole library, a small ESM and
// CJS file per subpath that re-exports its part, and .d.ts files from tsc.
//
// One bundle, not an ESM build beside a CJS build: the library keeps state (which Registry owns
// which selector), and two copies would not know each other's objects (the dual-package hazard), so
// `import` and `require` of every subpath reach the same code. koffi stays external.

import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type PluginBuild } from 'esbuild';
import ts from 'typescript';
import { targets } from '../generated/index.js';

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
  const common = {
    bundle: true,
    platform: 'node' as const,
    target: 'node20',
    external: ['koffi'],
    sourcemap: true,
    keepNames: true,
    logLevel: 'warning' as const,
  };

  const all = join(dist, '_all.ts');
  writeFileSync(
    all,
    `${ENTRIES.map((e) => `export * as ${e.name} from ${JSON.stringify(join(root, e.src).replace(/\.ts$/, '.js'))};`).join('\n')}\n`,
  );
  // A process needs one target's tables: each target is its own file (dist/targets/<name>.cjs), and
  // the bundle's table of targets requires one only when it is asked for. The requires are literal,
  // so a bundler that bundles metal-io still finds them all.
  const names = Object.keys(targets).sort();
  await build({
    ...common,
    sourcemap: false,
    entryPoints: names.map((n) => ({ in: join(root, 'generated', `${n}.ts`), out: n })),
    outdir: join(dist, 'targets'),
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
  });
  const lazyTargets = {
    name: 'lazy-targets',
    setup(b: PluginBuild) {
      b.onResolve({ filter: /generated[\\/]index\.js$/ }, (args) => ({ path: args.path, namespace: 'lazy-targets' }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-targets' }, () => ({
        loader: 'js',
        contents: [
          'export const targets = {};',
          ...names.map(
            (n) =>
              `Object.defineProperty(targets, ${JSON.stringify(n)}, { enumerable: true, get: () => require(${JSON.stringify(`./targets/${n}.cjs`)}).default });`,
          ),
        ].join('\n'),
      }));
    },
  };
  // src/sys/koffi.ts loads koffi with require(), through createRequire(import.meta.url) only where
  // there is no require (the ESM sources): CommonJS has no import.meta, and needs none here.
  await build({
    ...common,
    entryPoints: [all],
    outfile: join(dist, 'metal-io.cjs'),
    format: 'cjs',
    plugins: [lazyTargets],
    external: [...common.external, './targets/*'],
    define: { 'import.meta.url': 'undefined' },
  });
  rmSync(all);
  const bundle = createRequire(import.meta.url)(join(dist, 'metal-io.cjs')) as Record<string, Record<string, unknown>>;
  for (const e of ENTRIES) {
    const names = Object.keys(bundle[e.name]!)
      .filter((n) => n !== 'default')
      .sort();
    // Written out name by name, with __esModule: what TypeScript's and Babel's CommonJS output expect
    // (`import sys from 'metal-io/sys'` compiled to require() reads `.default`), and what tools that
    // read CommonJS exports statically (Node's cjs-module-lexer, arethetypeswrong) can see.
    writeFileSync(
      join(dist, `${e.name}.cjs`),
      [
        `'use strict';`,
        `Object.defineProperty(exports, '__esModule', { value: true });`,
        `const m = require('./metal-io.cjs').${e.name};`,
        ...names.map((n) => `exports.${n} = m.${n};`),
        ...(e.default ? ['exports.default = m.default;'] : []),
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dist, `${e.name}.js`),
      [
        `import bundle from './metal-io.cjs';`,
        `const m = bundle.${e.name};`,
        `export const { ${names.join(', ')} } = m;`,
        ...(e.default ? ['export default m.default;'] : []),
        '',
      ].join('\n'),
    );
  }

  const program = ts.createProgram(
    ENTRIES.map((e) => join(root, e.src)),
    {
      declaration: true,
      emitDeclarationOnly: true,
      stripInternal: true,
      outDir: join(dist, 'types'),
      rootDir: root,
      strict: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
      types: ['node'],
      skipLibCheck: true,
      resolveJsonModule: true,
    },
  );
  const result = program.emit();
  const diags = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (diags.length) {
    console.error(
      ts.formatDiagnosticsWithColorAndContext(diags, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => '\n',
      }),
    );
    process.exitCode = 1;
    return;
  }
  // The declarations twice: dist/types/ read as ES modules (dist's package type), dist/types-cjs/ as
  // CommonJS (its own package.json says so), so `require` resolves to CommonJS types and `import` to
  // ESM types under node16/nodenext, and neither masquerades as the other.
  // Only generated/types.d.ts is part of the public types (the per-target modules and their table are
  // implementation: src/sys/target.ts hides them behind SysModule), so the rest is not shipped.
  for (const f of readdirSync(join(dist, 'types', 'generated')))
    if (f !== 'types.d.ts') rmSync(join(dist, 'types', 'generated', f), { recursive: true });
  cpSync(join(dist, 'types'), join(dist, 'types-cjs'), { recursive: true });
  writeFileSync(join(dist, 'types-cjs', 'package.json'), '{ "type": "commonjs" }\n');
  for (const e of ENTRIES) {
    const decl = (dir: string) => {
      const target = `./${dir}/${e.src.replace(/\.ts$/, '.js')}`;
      return `export * from '${target}';\n${e.default ? `export { default } from '${target}';\n` : ''}`;
    };
    writeFileSync(join(dist, `${e.name}.d.ts`), decl('types'));
    writeFileSync(join(dist, `${e.name}.d.cts`), decl('types-cjs'));
  }
  console.log(`built dist/: ${ENTRIES.map((e) => e.name).join(', ')} (ESM + CJS + .d.ts)`);
}

await main();
