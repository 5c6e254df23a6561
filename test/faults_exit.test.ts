// The seed in force is printed when a process under METAL_IO_FAULTS exits with an error, so one
// environment variable reproduces the run; a clean exit prints nothing. (Spawns Node children.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const child = (code: string, env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } });

test('a failing run under METAL_IO_FAULTS prints the seed and rate on stderr', () => {
  const r = child("import { Poll } from './src/index.ts'; new Poll(); throw new Error('boom');", { METAL_IO_FAULTS: '77,rate=0.25' });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /metal-io faults: this run used METAL_IO_FAULTS=77,rate=0\.25 \(injected: \{"wouldBlock":\d+/);
});

test('a clean exit prints nothing; a bad METAL_IO_FAULTS is refused at load with ERR_INVALID_ARG_VALUE', () => {
  const ok = child("import { Poll } from './src/index.ts'; new Poll().close();", { METAL_IO_FAULTS: '77' });
  assert.is(ok.status, 0, ok.stderr);
  assert.not.match(ok.stderr, /metal-io faults/);
  const bad = child("import './src/index.ts';", { METAL_IO_FAULTS: 'seven' });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /ERR_INVALID_ARG_VALUE/);
});

test.run();
