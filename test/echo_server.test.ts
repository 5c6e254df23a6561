// The main job, end to end: examples/tcp_server.ts as a child process, driven by Node net clients.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Starts the echo server; `fdLimit` runs it under `ulimit -n` (soft and hard, so Node cannot raise it). */
function start(fdLimit?: number): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const args = ['--import', 'tsx', 'examples/tcp_server.ts', '--port', '0', '--quiet'];
  const opts = { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[], env: { ...process.env, FORCE_COLOR: undefined } };
  const child =
    fdLimit === undefined
      ? spawn(process.execPath, args, opts)
      : spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, ...args], opts);
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 15000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      const m = /^listening on 127\.0\.0\.1:(\d+)$/m.exec(d.toString());
      if (!m) reject(new Error(`unexpected first line: ${d}`));
      else resolve({ child, port: Number(m[1]), stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

/** Rejects when `p` has not settled within `ms`: every wait in this file is bounded. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function client(port: number): Promise<Socket> {
  return within(
    new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    }),
    5000,
    'connect',
  );
}

/** Sends `data`, collects the echo until `data.length` bytes came back. */
function roundTrip(s: Socket, data: Buffer, ms = 10000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const timer = setTimeout(() => reject(new Error(`echo timed out after ${n}/${data.length} bytes`)), ms);
    const onData = (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= data.length) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    s.on('data', onData);
    s.write(data);
  });
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => {
    if (c.exitCode !== null) r(c.exitCode);
    else c.once('exit', (code) => r(code));
  });

test('echoes for many clients, survives resets, half-closes and vanishing clients, exits 0 on SIGTERM', async () => {
  const srv = await start();
  try {
    // Ten ordinary clients.
    const clients = await Promise.all(Array.from({ length: 10 }, () => client(srv.port)));
    const echoes = await Promise.all(clients.map((c, i) => roundTrip(c, Buffer.from(`client ${i} `.repeat(100)))));
    echoes.forEach((e, i) => {
      assert.is(e.toString(), `client ${i} `.repeat(100));
    });

    // A client that resets (RST) and one that vanishes mid-write (never reads, then destroys).
    const resetter = await client(srv.port);
    resetter.write(randomBytes(100_000));
    resetter.resetAndDestroy();
    const vanisher = await client(srv.port);
    vanisher.pause(); // never reads: the server's writes back stall
    vanisher.write(randomBytes(4 * 1024 * 1024));
    await new Promise((r) => setTimeout(r, 200));
    vanisher.destroy();

    // A big transfer with backpressure: every byte comes back, in order.
    const big = randomBytes(8 * 1024 * 1024);
    const back = await roundTrip(clients[0]!, big, 30000);
    assert.is(back.length, big.length);
    assert.ok(back.equals(big), 'the 8 MiB echo is byte-for-byte');

    // Half-close: what was sent before FIN still comes back, then the server closes.
    const half = await client(srv.port);
    const got: Buffer[] = [];
    const ended = new Promise<void>((r) => half.on('end', () => r()));
    half.on('data', (d) => got.push(d));
    half.end(Buffer.from('last words'));
    await within(ended, 5000, 'the server closing a half-closed connection');
    assert.is(Buffer.concat(got).toString(), 'last words');

    // The others are still served.
    const after = await roundTrip(clients[5]!, Buffer.from('still here'));
    assert.is(after.toString(), 'still here');
    for (const c of clients) c.destroy();
  } finally {
    srv.child.kill('SIGTERM');
  }
  const code = await Promise.race([exited(srv.child), new Promise((r) => setTimeout(() => r('timeout'), 10000))]);
  assert.is(code, 0, `exit code (stderr: ${srv.stderr()})`);
  assert.is(srv.stderr(), '', 'nothing on stderr');
});

test('survives fd exhaustion: ulimit -n 256 and a flood of 1000 connections; serves 20 new 1 MiB clients after', async () => {
  if (process.platform === 'win32') {
    console.log('  SKIP fd exhaustion: ulimit is POSIX, this is win32');
    return;
  }
  const srv = await start(256);
  const flood: Socket[] = [];
  try {
    const early = await Promise.all(Array.from({ length: 5 }, () => client(srv.port)));
    for (const [i, c] of early.entries()) assert.is((await roundTrip(c, Buffer.from(`early ${i}`))).toString(), `early ${i}`);

    // The flood: 1000 connections at once. The server accepts until EMFILE, then pauses; the rest
    // wait in the backlog (or are refused once the pause lasts, by the reserved-fd trick).
    let refused = 0;
    await within(
      Promise.all(
        Array.from(
          { length: 1000 },
          () =>
            new Promise<void>((resolve) => {
              const s = connect(srv.port, '127.0.0.1');
              flood.push(s);
              s.once('connect', () => resolve());
              s.once('error', () => {
                refused++;
                resolve();
              });
              s.on('data', () => {});
            }),
        ),
      ),
      20000,
      'the flood connecting',
    );
    await new Promise((r) => setTimeout(r, 1500)); // long enough for the pause to shed the queue
    assert.is(srv.child.exitCode, null, `the server is still running (stderr: ${srv.stderr()})`);

    // Already-accepted clients are still served during the flood.
    for (const [i, c] of early.entries()) assert.is((await roundTrip(c, Buffer.from(`during ${i}`), 5000)).toString(), `during ${i}`);

    for (const s of flood) s.destroy();
    flood.length = 0;

    // After the flood: 20 new clients, 1 MiB each, echoed byte-for-byte.
    const fresh = await Promise.all(Array.from({ length: 20 }, () => client(srv.port)));
    const data = fresh.map(() => randomBytes(1024 * 1024));
    const back = await Promise.all(fresh.map((c, i) => roundTrip(c, data[i]!, 30000)));
    back.forEach((b, i) => {
      assert.ok(b.equals(data[i]!), `client ${i}: 1 MiB byte-for-byte`);
    });
    for (const c of [...early, ...fresh]) c.destroy();
    console.log(`  (flood: ${refused} connect errors seen by clients)`);
  } finally {
    for (const s of flood) s.destroy();
    srv.child.kill('SIGTERM');
  }
  const code = await Promise.race([exited(srv.child), new Promise((r) => setTimeout(() => r('timeout'), 10000))]);
  assert.is(code, 0, `exit code (stderr: ${srv.stderr()})`);
  assert.is(srv.stderr(), '', 'nothing on stderr');
});

test.run();
