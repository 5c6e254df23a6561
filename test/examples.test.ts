// The examples run and say what they should.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startScript } from './_util/child.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string) => spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 30000 });

test("readme.ts: mio's README example, translated", () => {
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
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/tcp_proxy.ts', '--upstream', `127.0.0.1:${(upstream.address() as { port: number }).port}`],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`proxy did not start: ${err}`)), 15000);
      child.stdout!.once('data', (d: Buffer) => {
        clearTimeout(t);
        resolve(Number(/:(\d+)/.exec(d.toString())![1]));
      });
    });
    const data = randomBytes(4 * 1024 * 1024);
    const c = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let n = 0;
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${n} bytes came back`)), 30000);
      c.on('data', (d) => {
        got.push(d);
        n += d.length;
        if (n >= data.length) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    c.pause(); // stall: the proxy must hold back, not drop or buffer without bound
    c.write(data);
    await new Promise((r) => setTimeout(r, 300));
    c.resume();
    await done;
    assert.ok(Buffer.concat(got).equals(data), 'byte for byte');
    c.destroy();
  } finally {
    child.kill('SIGTERM');
    upstream.close();
  }
  const code = await new Promise((r) => child.once('exit', r));
  assert.is(code, 0, err);
});

/** Splits raw HTTP/1.1 responses (Content-Length framed) into status, headers and body. */
function responses(raw: Buffer): { status: number; headers: string; body: Buffer }[] {
  const out: { status: number; headers: string; body: Buffer }[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const headers = raw.toString('latin1', at, end);
    const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
    if (raw.length < end + 4 + length) break;
    out.push({ status: Number(headers.slice(9, 12)), headers, body: raw.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

test('http_server.ts: keep-alive, pipelining, partial writes, bad requests, SIGTERM', async () => {
  const { connect } = await import('node:net');
  const http = await import('node:http');
  const { child, out, err, exited: exit, listening } = startScript(['examples/http_server.ts']);
  const exited = exit.then(([code]: [number | null, unknown]) => code);
  /** Sends `chunks` on one connection (a pause between them) and returns everything read until the server closes. */
  const exchange = (port: number, chunks: (string | Buffer)[], pauseMs = 0) =>
    new Promise<Buffer>((resolve, reject) => {
      const c = connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      const t = setTimeout(() => {
        c.destroy();
        reject(new Error(`no close; got ${Buffer.concat(got).length} bytes`));
      }, 30000);
      c.on('data', (d) => got.push(d));
      c.on('error', reject);
      c.on('close', () => {
        clearTimeout(t);
        resolve(Buffer.concat(got));
      });
      if (pauseMs) {
        c.pause();
        setTimeout(() => c.resume(), pauseMs);
      }
      void (async () => {
        for (const x of chunks) {
          c.write(x);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
    });
  try {
    const port = await listening(/listening on 127\.0\.0\.1:(\d+)/, 20000);
    // Four pipelined requests in one write; the last asks to close.
    const pipelined =
      'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /bytes/10 HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n';
    let rs = responses(await exchange(port, [pipelined]));
    assert.equal(
      rs.map((r) => r.status),
      [200, 200, 200, 404],
    );
    assert.equal(
      rs.map((r) => r.body.toString()),
      ['hello from metal-io\n', '0123456789', 'hello', 'not found\n'],
    );
    // The same bytes cut mid-line, mid-header and mid-body: the same answers.
    const cuts = [7, 40, 75, 96];
    rs = responses(await exchange(port, cuts.map((c, i) => pipelined.slice(i ? cuts[i - 1] : 0, c)).concat(pipelined.slice(96))));
    assert.equal(
      rs.map((r) => r.body.toString()),
      ['hello from metal-io\n', '0123456789', 'hello', 'not found\n'],
    );
    // 2 x 8 MiB to a client that does not read for 300 ms: partial writes, nothing lost, in order.
    const big = 8 * 1024 * 1024;
    rs = responses(
      await exchange(port, [`GET /bytes/${big} HTTP/1.1\r\n\r\nGET /bytes/${big + 1} HTTP/1.1\r\nConnection: close\r\n\r\n`], 300),
    );
    assert.equal(
      rs.map((r) => r.body.length),
      [big, big + 1],
    );
    const pattern = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n');
    for (const r of rs)
      for (const at of [0, 37 * 1000, Math.floor(big / 37 - 1) * 37])
        assert.ok(r.body.subarray(at, at + 37).equals(pattern), `pattern at ${at}`);
    // node:http with a keep-alive agent: 20 requests on one socket.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const reused: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { port, host: '127.0.0.1', path: '/echo', method: 'POST', agent, headers: { 'content-type': 'text/plain' } },
          (res) => {
            let b = '';
            res.setEncoding('utf8');
            res.on('data', (d) => {
              b += d;
            });
            res.on('end', () => resolve(b));
          },
        );
        req.on('error', reject);
        reused.push(req.reusedSocket);
        req.end(`request ${i}`);
      });
      assert.is(body, `request ${i}`);
    }
    agent.destroy();
    assert.equal(reused.filter(Boolean).length, 19, 'one socket kept alive for all 20');
    // Malformed and oversized: an answer, then the connection closes.
    assert.equal(
      responses(await exchange(port, ['garbage\r\n\r\n'])).map((r) => r.status),
      [400],
    );
    assert.equal(
      responses(await exchange(port, [`GET / HTTP/1.1\r\nX: ${'a'.repeat(20000)}`])).map((r) => r.status),
      [431],
    );
    assert.equal(
      responses(await exchange(port, ['POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'])).map((r) => r.status),
      [411],
    );
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0, err());
  assert.match(out(), /closed/);
});

for (const share of ['reuseport', 'clone'] as const) {
  test(`multicore_server.ts --share ${share}: 2 worker threads accept and echo on one port; SIGTERM stops all`, async () => {
    if (process.platform === 'win32') {
      console.log('  SKIP multicore_server: a socket belongs to one completion port on Windows [win32]');
      return;
    }
    const { connect } = await import('node:net');
    const {
      child,
      out,
      err,
      exited: exit,
      listening,
    } = startScript(['examples/multicore_server.ts', '--workers', '2', '--share', share, '--stats']);
    const exited = exit.then(([code]: [number | null, unknown]) => code);
    try {
      const port = await listening(/listening on 127\.0\.0\.1:(\d+) \(2 workers, (\w+)\)/, 30000);
      assert.match(out(), new RegExp(`2 workers, ${share}`));
      const conns = 40;
      const echoes = await Promise.all(
        Array.from(
          { length: conns },
          (_, i) =>
            new Promise<string>((resolve, reject) => {
              const c = connect(port, '127.0.0.1');
              let got = '';
              c.on('error', reject);
              c.on('data', (d) => {
                got += d;
                if (got.length >= `hello ${i}`.length * 2) {
                  c.destroy();
                  resolve(got);
                }
              });
              c.write(`hello ${i}`);
              setTimeout(() => c.write(`hello ${i}`), 10);
            }),
        ),
      );
      echoes.forEach((e, i) => {
        assert.is(e, `hello ${i}hello ${i}`);
      });
      const before = out().length;
      child.kill('SIGUSR2');
      const counts = await new Promise<number[]>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no stats')), 10000);
        const check = () => {
          const m = /accepted (\d+),(\d+)/.exec(out().slice(before));
          if (m) {
            clearTimeout(t);
            resolve([Number(m[1]), Number(m[2])]);
          }
        };
        child.stdout!.on('data', check);
        check();
      });
      assert.is(counts[0]! + counts[1]!, conns, `accepted ${counts}`);
      // SO_REUSEPORT hashes connections over the listeners: all 40 on one has odds 2^-39.
      if (share === 'reuseport') assert.ok(counts[0]! > 0 && counts[1]! > 0, `both workers accepted: ${counts}`);
    } finally {
      child.kill('SIGTERM');
    }
    assert.is(await exited, 0, err());
    assert.match(out(), /closed/);
  });
}

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
