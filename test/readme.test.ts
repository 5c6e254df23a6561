// Every TypeScript block in README.md, exactly as written: extracted here (not copied), type-checked
// strictly against the built package (imported by its name, `metal-io`, through the package's
// self-reference) and run. Runs natively only (it needs tsc and the TypeScript loader).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = import.meta.url.endsWith('.ts');
const blocks = native ? [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!) : [];
const dir = join(root, 'test', '.readme-blocks'); // inside the package: `metal-io` resolves to itself

test.before(() => {
  if (!native) return;
  const b = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, encoding: 'utf8' });
  assert.is(b.status, 0, b.stderr);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  blocks.forEach((code, i) => {
    writeFileSync(join(dir, `block${i}.ts`), code);
  });
});
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('the README has its TypeScript examples', () => {
  if (!native) return;
  assert.ok(blocks.length >= 4, `found ${blocks.length} ts blocks`);
});

test('every TypeScript block type-checks strictly against the package', () => {
  if (!native) {
    console.log(`  SKIP README blocks: needs tsc and the TypeScript loader, runs natively only [${process.platform}-${process.arch}]`);
    return;
  }
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--lib',
      'es2023,esnext.disposable',
      '--types',
      'node',
      ...blocks.map((_, i) => join(dir, `block${i}.ts`)),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test('every npm script the README tells you to run exists', () => {
  if (!native) return;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const named = [...readme.matchAll(/npm (?:run(?: -s)? ([\w:-]+)|(start|test)\b)/g)].map((m) => m[1] ?? m[2]!);
  assert.ok(named.length >= 8, `found ${named.length}`);
  for (const n of new Set(named)) assert.ok(n in scripts, `npm run ${n}`);
});

test("the README's fd-exhaustion command serves (ulimit -n 256; npm start -- --port 9000)", async () => {
  if (!native || process.platform === 'win32') return;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const line = /^(\(ulimit -n 256; npm start -- --port 9000\))/m.exec(readme)?.[1];
  assert.ok(line, 'the README has the command');
  const { createServer, connect } = await import('node:net');
  const free = await new Promise<boolean>((r) => {
    const t = createServer()
      .once('error', () => r(false))
      .listen(9000, '127.0.0.1', () => t.close(() => r(true)));
  });
  if (!free) {
    console.log('  SKIP README ulimit command: port 9000 is taken on this machine');
    return;
  }
  const { spawn } = await import('node:child_process');
  const child = spawn('sh', ['-c', line!], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('not listening within 20 s')), 20000);
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('listening on 127.0.0.1:9000')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = connect(9000, '127.0.0.1', () => s.write('readme'));
      s.once('data', (d) => {
        resolve(d.toString());
        s.destroy();
      });
      s.once('error', reject);
    });
    assert.is(echoed, 'readme');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
});

for (let i = 0; i < blocks.length; i++) {
  test(`README block ${i} runs (${blocks[i]!.split('\n')[0]})`, () => {
    if (!native) return;
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, `block${i}.ts`)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    assert.is(r.status, 0, `block ${i} exited ${r.status} ${r.signal ?? ''}:\n${r.stdout}\n${r.stderr}`);
  });
}

test.run();
