// Signals seen from outside: a blocking-loop server (examples/blocking_server.ts) stopped by SIGTERM
// or SIGINT, and a signal's default action coming back after close(). Each runs in a child process.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startScript } from './_util/child.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const windows = process.platform === 'win32';

async function stopServerWith(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  const { child, out, err, exited, listening } = startScript(['examples/blocking_server.ts']);
  try {
    const port = await listening(/listening on 127\.0\.0\.1:(\d+)/, 20000);
    // A client is connected and served, so the loop is really blocked in poll() when the signal comes.
    const c = connect(port, '127.0.0.1');
    const echoed = await new Promise<string>((resolve, reject) => {
      let got = '';
      c.once('error', reject);
      c.on('data', (d) => {
        got += d;
        if (got.length >= 4) resolve(got);
      }); // (a short write may split it)
      c.write('ping');
    });
    assert.is(echoed, 'ping');
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    child.kill(signal);
    const [code, sig] = await exited;
    const ms = performance.now() - t0;
    c.destroy();
    assert.is(sig, null, `killed by ${sig}: the signal's default action ran\n${err()}`);
    assert.is(code, 0, err());
    assert.ok(ms < 1000, `exited ${ms.toFixed(0)} ms after ${signal}`);
    assert.match(out(), new RegExp(`caught ${signal}`));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

test('a blocking-loop server exits 0 within 1 s of SIGTERM', async () => {
  if (windows) {
    console.log('  SKIP blocking-loop server and SIGTERM: POSIX signals, this is win32');
    return;
  }
  await stopServerWith('SIGTERM');
});

test('... and of SIGINT (Ctrl-C)', async () => {
  if (windows) {
    console.log('  SKIP blocking-loop server and SIGINT: POSIX signals, this is win32');
    return;
  }
  await stopServerWith('SIGINT');
});

test("while a Signals catches SIGTERM the process lives; after close() SIGTERM's default action is back", () => {
  if (windows) {
    console.log('  SKIP default action: POSIX signals, this is win32');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'metal-io-signals-'));
  try {
    const file = join(dir, 'child.ts');
    writeFileSync(
      file,
      `
      import { Poll, Events, Interest, Signals } from ${JSON.stringify(pathToFileURL(join(root, 'src/index.ts')).href)};
      const poll = new Poll(); const events = new Events(4);
      const s = new Signals(['SIGTERM']);
      poll.registry().register(s, 1, Interest.READABLE);
      process.kill(process.pid, 'SIGTERM');
      poll.poll(events, 5000);
      console.log('caught', s.pending().join());
      s.close();
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => console.log('still alive'), 2000);
    `,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 20000 });
    assert.match(r.stdout, /caught SIGTERM/, r.stderr);
    assert.is(r.signal, 'SIGTERM', `${r.stdout}${r.stderr}`);
    assert.not.match(r.stdout, /still alive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A worker can be terminated at any instant, running no JavaScript on the way out, while libuv's
// process-wide signal list holds its Signals' handles: idle, spinning in a loop, or just after a
// catch. The process must live on (no freed memory reached: this was a SIGSEGV), another thread's
// Signals must work, a worker that exits normally must give its fds back, one that is terminated
// must leave none (its starter closes them and finishes its Signals' loop), and once nothing catches
// SIGUSR2 its default action (terminate) must be back, proving the dead workers' handles are gone.
test('workers terminated while their Signals are open: no crash, no fd left, others still catch, default action comes back', () => {
  if (windows) {
    console.log('  SKIP worker termination with Signals: POSIX signals, this is win32');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'metal-io-signals-'));
  try {
    const index = JSON.stringify(pathToFileURL(join(root, 'src/index.ts')).href);
    writeFileSync(
      join(dir, 'worker.mjs'),
      `
      import { register } from ${JSON.stringify(pathToFileURL(join(root, 'node_modules/tsx/dist/esm/api/index.mjs')).href)};
      register();
      const { Poll, Events, Interest, Signals } = await import(${index});
      const { parentPort, workerData } = await import('node:worker_threads');
      if (workerData === 'plain') { parentPort.postMessage('ready'); process.exit(0); }
      const poll = new Poll(); const events = new Events(4);
      const s = new Signals(['SIGUSR2']);
      poll.registry().register(s, 1, Interest.READABLE);
      if (workerData === 'catch') { process.kill(process.pid, 'SIGUSR2'); poll.poll(events, 5000); s.pending(); }
      parentPort.postMessage('ready');
      if (workerData === 'spin') for (;;);
      if (workerData === 'exit') process.exit(0);
      setInterval(() => {}, 1000);
    `,
    );
    const file = join(dir, 'child.mts');
    writeFileSync(
      file,
      `
      import { Worker } from 'node:worker_threads';
      import { readdirSync } from 'node:fs';
      import { Poll, Events, Interest, Signals } from ${index};
      const fds = () => readdirSync('/proc/self/fd').length;
      const start = (mode) => new Promise((resolve, reject) => {
        const w = new Worker(${JSON.stringify(join(dir, 'worker.mjs'))}, { workerData: mode });
        // Listened for from the start: a worker that exits at once may emit 'exit' in the same turn as its message.
        w.exited = new Promise((r) => w.once('exit', r));
        w.once('error', reject);
        w.once('message', () => resolve(w));
      });
      const poll = new Poll(); const events = new Events(4);
      for (const mode of ['idle', 'spin', 'catch', 'idle', 'spin']) {
        const w = await start(mode);
        await w.terminate();
        // A signal while the dead worker's handles would still be listed, then one caught here.
        const s = new Signals(['SIGUSR2']);
        poll.registry().register(s, 1, Interest.READABLE);
        process.kill(process.pid, 'SIGUSR2');
        poll.poll(events, 5000);
        if (s.pending().join() !== 'SIGUSR2') throw new Error('not caught after terminating a ' + mode + ' worker');
        s.close();
      }
      console.log('caught after every termination');
      if (process.platform === 'linux') {
        // What a worker that exits normally leaves open with a Signals, less what it leaves without.
        const left = async (mode) => {
          const before = fds();
          const w = await start(mode);
          await w.exited;
          return fds() - before;
        };
        await left('plain');
        const n = (await left('exit')) - (await left('plain'));
        console.log('fds after a normal exit ' + n);
        // And what a terminated one leaves: its starter closes its fds and finishes its Signals' loop.
        const base = await left('plain');
        const ended = async (mode) => {
          const before = fds();
          const w = await start(mode);
          await w.terminate();
          await w.exited;
          // libkqueue releases a closed kqueue's own fds from its monitoring thread, a moment later.
          for (let i = 0; i < 40 && fds() - before > base; i++) await new Promise((r) => setTimeout(r, 50));
          return fds() - before;
        };
        for (const mode of ['idle', 'spin', 'catch']) console.log('fds after terminating a ' + mode + ' worker ' + ((await ended(mode)) - base));
      }
      console.log('sending SIGUSR2 with nothing catching it');
      process.kill(process.pid, 'SIGUSR2');
      setTimeout(() => console.log('still alive'), 2000);
    `,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60000 });
    const out = `${r.stdout}${r.stderr}`;
    assert.match(r.stdout, /caught after every termination/, out);
    if (process.platform === 'linux') {
      assert.match(r.stdout, /fds after a normal exit 0\n/, out);
      for (const mode of ['idle', 'spin', 'catch']) assert.match(r.stdout, new RegExp(`fds after terminating a ${mode} worker 0\n`), out);
    }
    assert.match(r.stdout, /sending SIGUSR2/, out);
    assert.is(r.signal, 'SIGUSR2', `not killed by SIGUSR2's default action: ${r.signal} ${r.status}\n${out}`);
    assert.not.match(r.stdout, /still alive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
