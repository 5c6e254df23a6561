// Objects dropped without close() have their fds closed when collected (mio closes on drop).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, Waker } from '../src/index.js';
import { TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import { pipe } from '../src/unix.js';
import { handleCount, leakedSince, onWine, openFds, unixOnly } from './_util/events.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects until the finalizers ran (they run as tasks after a GC), bounded. */
async function collect(done: () => boolean): Promise<void> {
  for (let i = 0; i < 40 && !done(); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('500 TcpListeners and 500 Polls dropped without close() hold no fd after GC', async () => {
  TcpListener.bind('127.0.0.1:0').close(); // the listeners' process-wide spare fd exists before we count
  if (process.platform === 'win32') {
    // Windows: the handle count (a Poll is a port and an AFD handle; a listener a socket).
    new Poll().close();
    const start = handleCount();
    (() => {
      for (let i = 0; i < 200; i++) {
        TcpListener.bind('127.0.0.1:0');
        new Poll();
      }
    })();
    const open = handleCount();
    if (onWine && open === start) {
      console.log(
        `  SKIP finalizer handle count: Wine's GetProcessHandleCount does not count (${start} before and with 400 handles) [win32-x64 under Wine]`,
      );
      return;
    }
    assert.ok(open >= start + 400, `they were open (${start} before, ${open} with them)`);
    await collect(() => handleCount() <= start + 5);
    assert.ok(handleCount() <= start + 5, `handles: ${start} before, ${handleCount()} after GC`);
    return;
  }
  const before = openFds();
  if (!before) {
    console.log(`  SKIP finalizer fd count: no /proc/self/fd here [${process.platform}-${process.arch}]`);
    return;
  }
  (() => {
    for (let i = 0; i < 500; i++) {
      TcpListener.bind('127.0.0.1:0');
      new Poll();
    }
  })();
  assert.ok(openFds()!.size >= before.size + 1000, 'they were open');
  await collect(() => openFds()!.size <= before.size + 1);
  assert.equal(await leakedSince(before), [], 'every fd closed');
});

test('dropped while registered, after pollAsync, with a Waker: all closed, the Poll too', async () => {
  const before = openFds();
  if (!before) {
    console.log(`  SKIP finalizer fd count: no /proc/self/fd here [${process.platform}-${process.arch}]`);
    return;
  }
  await (async () => {
    for (let i = 0; i < 20; i++) {
      const poll = new Poll();
      const events = new Events(4);
      const l = TcpListener.bind('127.0.0.1:0');
      const s = TcpStream.connect(l.localAddr());
      const u = UdpSocket.bind('127.0.0.1:0');
      poll.registry().register(l, 1, Interest.READABLE);
      poll.registry().register(s, 2, Interest.WRITABLE);
      poll.registry().register(u, 3, Interest.READABLE);
      new Waker(poll.registry(), 4);
      await poll.pollAsync(events, 5);
      // Nothing ready: pollAsync starts libuv's watch of the epoll fd, whose callback must not
      // keep the Poll alive once the caller drops it.
      await new Poll().pollAsync(new Events(1), 5);
    }
  })();
  await collect(() => openFds()!.size <= before.size + 1);
  assert.equal(await leakedSince(before), [], 'every fd closed');
});

test('close() or intoRawFd() leave nothing to the finalizer: a reused fd number is never closed', async () => {
  if (!unixOnly('fd reuse after close')) return;
  const [tx, rx] = pipe();
  const txFd = tx.fd;
  tx.close();
  const [tx2, rx2] = pipe(); // likely takes txFd's number again
  let raw = -1;
  (() => {
    const [a, b] = pipe();
    raw = a.intoRawFd();
    b.close();
  })();
  await collect(() => false);
  try {
    assert.ok(txFd >= 0);
    assert.is(tx2.write(Buffer.from('ok')), 2, 'the new pipe is still open');
    const buf = Buffer.alloc(4);
    assert.is(rx2.read(buf), 2);
    const { fstatSync, closeSync } = await import('node:fs');
    assert.ok(fstatSync(raw).isFIFO(), 'the fd handed out by intoRawFd() is still open');
    closeSync(raw);
  } finally {
    rx.close();
    tx2.close();
    rx2.close();
  }
});

test('NODE_DEBUG=metal-io reports what the finalizer closed', async () => {
  if (!import.meta.url.endsWith('.ts')) {
    console.log(`  SKIP finalizer debug log: spawns a TypeScript child, runs natively only [${process.platform}-${process.arch}]`);
    return;
  }
  const { spawnSync } = await import('node:child_process');
  const code = `const { TcpListener } = await import(${JSON.stringify(new URL('../src/net.ts', import.meta.url).href)});
    (() => { TcpListener.bind('127.0.0.1:0'); })();
    for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, NODE_DEBUG: 'metal-io', NO_COLOR: '1', FORCE_COLOR: undefined },
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.is(r.status, 0, r.stderr);
  assert.ok(/METAL-IO \d+: finalizer: closed TcpListener fd \d+, dropped without close\(\)/.test(r.stderr), `stderr: ${r.stderr}`);
});

test.run();
