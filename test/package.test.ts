// The package as users get it: `npm run build` makes dist/, and both `import` and `require` of every
// subpath work and share one event queue implementation.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));

test('npm run build, then import and require every subpath', () => {
  const b = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, encoding: 'utf8' });
  assert.is(b.status, 0, b.stderr + b.stdout);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const dir = mkdtempSync(join(tmpdir(), 'metal-io-pkg-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'metal-io'));
    const subpaths = Object.keys(pkg.exports)
      .filter((k) => k !== './package.json')
      .map((k) => k.replace(/^\./, 'metal-io'));
    writeFileSync(
      join(dir, 'check.mjs'),
      `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const out = {};
      for (const s of ${JSON.stringify(subpaths)}) { const e = await import(s); const c = require(s); out[s] = [Object.keys(e).sort().join(','), Object.keys(c).sort().join(',')]; }
      const { Poll, Events, Interest } = await import('metal-io');
      const { pipe } = require('metal-io/unix');
      const poll = new Poll(); const ev = new Events(2); const [tx, rx] = pipe();
      poll.registry().register(rx, 5, Interest.READABLE); tx.write(Buffer.from('x')); poll.poll(ev, 1000);
      out.crossed = ev.get(0)?.token;
      console.log(JSON.stringify(out));`,
    );
    const r = spawnSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, [string, string] | number>;
    for (const s of subpaths) {
      const [esm, cjs] = out[s] as [string, string];
      assert.ok(esm.length > 0, `${s} exports something`);
      assert.is(cjs.replace(/,?__esModule/, ''), esm, `${s}: require and import export the same names`);
    }
    assert.is(out.crossed, 5, 'an ESM Poll takes a CJS pipe: one shared implementation');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
