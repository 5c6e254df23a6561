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

test('tcp_proxy.ts: 4 MiB through the proxy and back, byte for byte, with a client that stalls', async () => {
  const { spawn } = await import('node:child_process');
  const { createServer, connect } = await import('node:net');
  const { randomBytes } = await import('node:crypto');
  const upstream = createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
  await new Promise((r) => upstream.once('listening', r));
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/tcp_proxy.ts', '--upstream', `127.0.0.1:${(upstream.address() as { port: number }).port}`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = ''; child.stderr!.on('data', (d) => { err += d; });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`proxy did not start: ${err}`)), 15000);
      child.stdout!.once('data', (d: Buffer) => { clearTimeout(t); resolve(Number(/:(\d+)/.exec(d.toString())![1])); });
    });
    const data = randomBytes(4 * 1024 * 1024);
    const c = connect(port, '127.0.0.1');
    const got: Buffer[] = []; let n = 0;
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${n} bytes came back`)), 30000);
      c.on('data', (d) => { got.push(d); n += d.length; if (n >= data.length) { clearTimeout(t); resolve(); } });
    });
    c.pause(); // stall: the proxy must hold back, not drop or buffer without bound
    c.write(data);
    await new Promise((r) => setTimeout(r, 300));
    c.resume();
    await done;
    assert.ok(Buffer.concat(got).equals(data), 'byte for byte');
    c.destroy();
  } finally { child.kill('SIGTERM'); upstream.close(); }
  const code = await new Promise((r) => child.once('exit', r));
  assert.is(code, 0, err);
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
