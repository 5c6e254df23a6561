// The examples run and say what they should.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string) => spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 30000 });

test('readme.ts: mio\'s README example, translated', () => {
  const r = run('examples/readme.ts');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /server accepted a connection/);
  assert.match(r.stdout, /client connected/);
});

test('udp_echo.ts: a datagram goes there and back', () => {
  const r = run('examples/udp_echo.ts');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /echoed 'ping' from 127\.0\.0\.1:\d+/);
});

test('udp_server.ts: 1000 requests answered in batches', () => {
  const r = run('examples/udp_server.ts');
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^1000 replies, all correct$/m);
});

test('worker_loop.ts: a blocking I/O loop in a worker, stopped through a Waker', () => {
  const r = run('examples/worker_loop.ts');
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /echoed 'hello worker' from the I\/O thread/);
  assert.match(r.stdout, /the I\/O thread stopped/);
});

test('unix_echo.ts: a Unix-socket echo', () => {
  if (process.platform === 'win32') return;
  const r = run('examples/unix_echo.ts');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /echoed 'hello over a Unix socket'/);
});

test('sys_demo.ts: the system layer tour', () => {
  const r = run('examples/sys_demo.ts');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^target /);
});

test.run();
