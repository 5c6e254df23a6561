// The package as a consumer project gets it: `npm pack`, unpacked into a fresh project, then
// imported (ESM), required (CJS), type-checked by tsc under node16 (ESM and CJS packages), nodenext
// and bundler resolution, compiled to CommonJS with a default import, bundled with esbuild in both
// formats, and checked by arethetypeswrong. Runs natively only (it needs npm, tsc and esbuild).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = import.meta.url.endsWith('.ts');

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined } });
  assert.is(r.status, 0, `${cmd} ${args.join(' ')} (in ${cwd}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tarball = '';
let work = '';

/** A fresh project: the packed metal-io in node_modules, koffi and @types/node linked from here. */
function project(name: string, pkg: object, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  run('tar', ['xzf', tarball, '-C', join(dir, 'node_modules')], dir);
  run('mv', [join(dir, 'node_modules', 'package'), join(dir, 'node_modules', 'metal-io')], dir);
  symlinkSync(join(root, 'node_modules', 'koffi'), join(dir, 'node_modules', 'koffi'));
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, ...pkg }));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

const tsc = (dir: string, ...opts: string[]) =>
  run(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--strict',
      '--types',
      'node',
      '--target',
      'es2022',
      '--lib',
      'es2023,esnext.disposable',
      ...opts,
    ],
    dir,
  );

const esmUse = `import { Poll, Events, Interest } from 'metal-io';
import { TcpListener, UdpSocket, PeerAddress } from 'metal-io/net';
import { pipe } from 'metal-io/unix';
import sys, { platform } from 'metal-io/sys';
const poll = new Poll(); const events = new Events(2);
const l = TcpListener.bind('127.0.0.1:0');
poll.registry().register(l, 1, Interest.READABLE);
poll.poll(events, 0);
const p = new PeerAddress('127.0.0.1:1');
console.log(JSON.stringify({ poll: Poll.name, backend: poll.backend, fn: typeof sys.fn, target: platform.name, pipe: typeof pipe, udp: typeof UdpSocket, peer: p.port }));
l.close(); poll.close();
`;

test.before(() => {
  if (!native) return;
  work = mkdtempSync(join(tmpdir(), 'metal-io-consumer-'));
  run('npm', ['run', '-s', 'build'], root);
  const out = run('npm', ['pack', '--pack-destination', work, '--silent'], root).trim().split('\n').pop()!;
  tarball = join(work, out);
});
test.after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('ESM import and CJS require run, default import of metal-io/sys included', () => {
  if (!native) {
    console.log(`  SKIP consumer project: needs npm, tsc and esbuild, runs natively only [${process.platform}-${process.arch}]`);
    return;
  }
  const dir = project(
    'esm',
    { type: 'module' },
    {
      'main.mjs': esmUse,
      'main.cjs': `const { Poll } = require('metal-io'); const sys = require('metal-io/sys');
    const { TcpStream } = require('metal-io/net');
    console.log(JSON.stringify({ poll: Poll.name, stream: TcpStream.name, default: typeof sys.default.fn, target: sys.platform.name }));`,
    },
  );
  const esm = JSON.parse(run(process.execPath, ['main.mjs'], dir));
  assert.is(esm.poll, 'Poll', 'class names survive the bundle');
  assert.is(esm.fn, 'function');
  assert.is(esm.peer, 1);
  const cjs = JSON.parse(run(process.execPath, ['main.cjs'], dir));
  assert.equal(cjs, { poll: 'Poll', stream: 'TcpStream', default: 'function', target: esm.target });
});

test('where koffi has no native module, require and import of the package throw KoffiLoadError (ERR_METAL_IO_KOFFI)', () => {
  if (!native) return;
  // As on NetBSD: a preload makes Node report netbsd, so koffi finds no native module to load.
  const dir = project(
    'no-koffi',
    { type: 'module' },
    {
      'as-if.mjs': `Object.defineProperty(process, 'platform', { value: 'netbsd' });\n`,
      'main.cjs': `try { require('metal-io/net'); } catch (e) { console.log(JSON.stringify({ code: e.code, target: e.target, cause: e.cause.message })); }\n`,
      'main.mjs': `try { await import('metal-io'); } catch (e) { console.log(JSON.stringify({ code: e.code, target: e.target, cause: e.cause.message })); }\n`,
    },
  );
  const want = {
    code: 'ERR_METAL_IO_KOFFI',
    target: 'netbsd-x64',
    cause: 'Cannot find the native Koffi module; did you bundle it correctly?',
  };
  for (const main of ['main.cjs', 'main.mjs']) {
    // Node 20 also reports an import's CommonJS failure as uncaught after the catch ran: the line printed is what counts.
    const r = spawnSync(process.execPath, ['--import', './as-if.mjs', main], { cwd: dir, encoding: 'utf8', timeout: 30000 });
    assert.equal(JSON.parse(r.stdout.trim().split('\n')[0] ?? 'null'), want, `${main}: ${r.stdout}${r.stderr}`);
  }
});

test('tsc: node16 from an ESM and a CommonJS package, nodenext, bundler; a CommonJS build with a default import runs', () => {
  if (!native) return;
  const esm = project('ts-esm', { type: 'module' }, { 'main.ts': `${esmUse}const typed: PeerAddress = p; void typed;\n` });
  tsc(esm, '--module', 'node16', '--moduleResolution', 'node16', '--noEmit', 'main.ts');
  tsc(esm, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--noEmit', 'main.ts');
  tsc(esm, '--module', 'esnext', '--moduleResolution', 'bundler', '--noEmit', 'main.ts');
  const cjs = project('ts-cjs', { type: 'commonjs' }, { 'main.ts': esmUse });
  tsc(cjs, '--module', 'node16', '--moduleResolution', 'node16', '--outDir', 'out', 'main.ts');
  const r = JSON.parse(run(process.execPath, ['out/main.js'], cjs));
  assert.is(r.fn, 'function', 'import sys from metal-io/sys works compiled to require()');
  assert.is(r.poll, 'Poll');
});

test('esbuild bundles for node, ESM and CJS, run (koffi external; ESM with a require banner)', async () => {
  if (!native) return;
  const { build } = await import('esbuild');
  const dir = project(
    'bundle',
    { type: 'module' },
    { 'main.mjs': esmUse, 'main.cjs': `const { Poll } = require('metal-io'); console.log(JSON.stringify({ poll: Poll.name }));` },
  );
  await build({
    entryPoints: [join(dir, 'main.cjs')],
    outfile: join(dir, 'out.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['koffi'],
    logLevel: 'error',
  });
  assert.is(JSON.parse(run(process.execPath, ['out.cjs'], dir)).poll, 'Poll');
  await build({
    entryPoints: [join(dir, 'main.mjs')],
    outfile: join(dir, 'out.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['koffi'],
    logLevel: 'error',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  assert.is(JSON.parse(run(process.execPath, ['out.mjs'], dir)).poll, 'Poll');
});

test("the README's bundling commands, exactly as written, make bundles that run", () => {
  if (!native) return;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/^( *)```sh\n([\s\S]*?)^\1```$/gm)]
    .map((m) => m[2]!.replace(new RegExp(`^${m[1]}`, 'gm'), ''))
    .find((b) => b.includes('esbuild app.js'));
  assert.ok(block, 'the README has the esbuild commands');
  const dir = project(
    'readme-bundle',
    { type: 'module' },
    {
      'app.js': `const { Poll } = require('metal-io'); const { UdpSocket } = require('metal-io/net'); const p = new Poll(); console.log(JSON.stringify({ poll: Poll.name, udp: UdpSocket.name, backend: p.backend })); p.close();`,
      'app.mjs': esmUse,
    },
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-bundle', private: true })); // app.js is CommonJS here
  const r = spawnSync('sh', ['-c', block!], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}` },
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.is(JSON.parse(run(process.execPath, ['out.cjs'], dir)).udp, 'UdpSocket');
  assert.is(JSON.parse(run(process.execPath, ['out.mjs'], dir)).poll, 'Poll');
});

test('arethetypeswrong: every entry point resolves right for node10, node16 (CJS and ESM) and bundlers', () => {
  if (!native) return;
  const out = spawnSync(
    process.execPath,
    [join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), tarball, '--format', 'ascii', '--profile', 'node16'],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  );
  assert.is(out.status, 0, `${out.stdout}\n${out.stderr}`);
  assert.ok(readdirSync(work).some((f) => f.endsWith('.tgz')));
});

test.run();
