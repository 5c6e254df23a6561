// The misuse detector (src/check.ts) against planted bugs: each buggy loop is caught with a message
// that names the mistake, its correct twin is not. And the bugs the detector cannot see: a short
// write ignored is caught by fault injection within 20 seeds; a closed source's token reused
// within a batch cannot hurt any more (its events are dropped).

import { closeSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { TcpListener, type TcpStream } from '../src/net.js';
import { tcpPair } from './_util/net.js';

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs `turns` polls of `loop`; returns the misuse error thrown (strict mode), or null. */
function misuseIn(turns: number, poll: Poll, loop: (events: Events) => void): (Error & { code?: string }) | null {
  const events = new Events(16);
  try {
    for (let i = 0; i < turns; i++) {
      poll.poll(events, 20);
      loop(events);
    }
    return null;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code !== 'ERR_METAL_IO_MISUSE') throw e;
    return err;
  }
}

function expectMisuse(err: (Error & { code?: string }) | null, pattern: RegExp): void {
  assert.ok(err, 'the detector reported it');
  assert.is(err!.code, 'ERR_METAL_IO_MISUSE');
  assert.match(err!.message, /^metal-io misuse: /);
  assert.match(err!.message, pattern);
  // Bundled with the library (the qemu and Wine runs), the caller's frames are in the bundle too.
  const where = import.meta.url.endsWith('.ts') ? /\(at .*check\.test\.ts:\d+:\d+\)$/ : /\(at .+:\d+:\d+\)$/;
  assert.match(err!.message, where, `it names the caller's file and line: ${err!.message}`);
}

test('planted bug: stops reading one call early (one read per readable event) is named; reading until null is not', () => {
  for (const buggy of [true, false]) {
    const poll = new Poll({ check: 'strict' });
    const p = tcpPair();
    try {
      poll.registry().register(p.server, 1, Interest.READABLE);
      p.client.write(Buffer.alloc(100, 1));
      sleep(10);
      const buf = Buffer.alloc(16);
      const err = misuseIn(5, poll, (events) => {
        for (const e of events) {
          if (e.token !== 1) continue;
          if (buggy)
            p.server.read(buf); // one call: 84 bytes stay, and no new edge will come
          else
            while ((p.server.read(buf) ?? 0) > 0) {
              /* until null */
            }
        }
      });
      if (buggy) expectMisuse(err, /token 1: a readable event was not followed to would-block/);
      else assert.is(err, null);
    } finally {
      poll.close();
      p.close();
    }
  }
});

test('planted bug: treats 0 (end of stream) as would-block is named; closing on 0 is not', () => {
  for (const buggy of [true, false]) {
    const poll = new Poll({ check: 'strict' });
    const p = tcpPair();
    try {
      poll.registry().register(p.server, 1, Interest.READABLE);
      p.client.write(Buffer.from('bye'));
      p.client.shutdown('write');
      sleep(10);
      const buf = Buffer.alloc(16);
      const err = misuseIn(4, poll, (events) => {
        for (const e of events) {
          if (e.token !== 1 || p.server.closed) continue;
          let n: number | null;
          while ((n = p.server.read(buf)) !== null) {
            if (n === 0) {
              if (!buggy) p.server.close();
              break;
            } // the bug: 0 taken for "nothing now"
          }
        }
      });
      if (buggy) expectMisuse(err, /token 1: read\(\) returned 0 \(end of stream\) and the source stays registered for READABLE/);
      else assert.is(err, null);
    } finally {
      poll.close();
      p.close();
    }
  }
});

test('planted bug: forgets WRITABLE after a would-block write is named; registering it is not', () => {
  for (const buggy of [true, false]) {
    const poll = new Poll({ check: 'strict' });
    const p = tcpPair();
    try {
      poll.registry().register(p.server, 1, Interest.READABLE);
      p.client.write(Buffer.from('go'));
      const big = Buffer.alloc(1 << 20, 7);
      const err = misuseIn(3, poll, (events) => {
        for (const e of events) {
          if (e.token !== 1) continue;
          while ((p.server.read(Buffer.alloc(16)) ?? 0) > 0) {
            /* drain */
          }
          while (p.server.write(big) !== null) {
            /* until the peer's window is full */
          }
          if (!buggy) poll.registry().reregister(p.server, 1, Interest.READABLE | Interest.WRITABLE);
        }
      });
      if (buggy) expectMisuse(err, /token 1: a write returned would-block \(null\) but the source is not registered for WRITABLE/);
      else assert.is(err, null);
    } finally {
      poll.close();
      p.close();
    }
  }
});

test("one token given to two live sources is named; reusing a closed source's token is not", () => {
  const poll = new Poll({ check: 'strict' });
  const a = tcpPair();
  const b = tcpPair();
  const c = tcpPair();
  try {
    poll.registry().register(a.server, 5, Interest.READABLE);
    let err: (Error & { code?: string }) | null = null;
    try {
      poll.registry().register(b.server, 5, Interest.READABLE);
    } catch (e) {
      err = e as Error;
    }
    expectMisuse(err, /token 5 given to TcpStream fd \d+ while another live source of this Poll has it/);
    a.server.close();
    poll.registry().register(c.server, 5, Interest.READABLE); // the old owner is closed: fine
  } finally {
    poll.close();
    a.close();
    b.close();
    c.close();
  }
});

test("an fd closed behind the library's back is named (EBADF)", () => {
  if (process.platform === 'win32') {
    console.log('  SKIP fd closed behind the back: closes a socket fd with close(2), Unix-only [win32]');
    return;
  }
  const poll = new Poll({ check: 'strict' });
  const p = tcpPair();
  let fd = -1;
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    fd = p.server.fd;
    closeSync(fd); // the bug: the fd is closed without the object knowing
    let err: (Error & { code?: string }) | null = null;
    try {
      p.server.read(Buffer.alloc(4));
    } catch (e) {
      err = e as Error;
    }
    expectMisuse(err, /read on TcpStream fd \d+ failed with EBADF: the fd was closed behind metal-io's back/);
  } finally {
    // The object still thinks it owns the number: give it up unclosed, or its finalizer would one
    // day close whatever else got that fd number (another test's socket).
    p.server.intoRawFd();
    poll.close();
    p.client.close();
    p.listener.close();
  }
});

test('the detector off (no option, no METAL_IO_CHECK): the same planted bug runs silently', () => {
  const poll = new Poll();
  const p = tcpPair();
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    p.client.write(Buffer.alloc(100, 1));
    sleep(10);
    const err = misuseIn(3, poll, (events) => {
      for (const e of events) if (e.token === 1) p.server.read(Buffer.alloc(16));
    });
    assert.is(err, null);
  } finally {
    poll.close();
    p.close();
  }
});

/** An echo turn: read what is there and write it back; `buggy` ignores write()'s count. */
function echoOnce(s: TcpStream, buf: Buffer, buggy: boolean, owed: Buffer[]): void {
  let n: number | null;
  while ((n = s.read(buf)) !== null && n > 0) {
    let chunk = Buffer.from(buf.subarray(0, n));
    if (buggy) {
      s.write(chunk);
      continue;
    } // the bug: a short write loses the rest
    if (owed.length > 0) {
      owed.push(chunk);
      continue;
    }
    const w = s.write(chunk) ?? 0;
    if (w < chunk.length) {
      chunk = chunk.subarray(w);
      owed.push(chunk);
    }
  }
  while (!buggy && owed.length > 0) {
    const w = s.write(owed[0]!);
    if (w === null) break;
    if (w < owed[0]!.length) {
      owed[0] = owed[0]!.subarray(w);
      break;
    }
    owed.shift();
  }
}

/** Echoes 64 KiB through `buggy` or correct code under fault injection; returns the bytes that came back. */
function echoUnderFaults(seed: number, buggy: boolean): number {
  const poll = new Poll({ faults: { seed, rate: 0.2 } });
  const events = new Events(16);
  const l = TcpListener.bind('127.0.0.1:0');
  const p = tcpPair();
  const total = 64 * 1024;
  const data = Buffer.alloc(total, 3);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE | Interest.WRITABLE);
    poll.registry().register(p.client, 2, Interest.READABLE | Interest.WRITABLE);
    let sent = 0;
    let back = 0;
    const owed: Buffer[] = [];
    const sbuf = Buffer.alloc(4096);
    const cbuf = Buffer.alloc(8192);
    const deadline = performance.now() + 3000;
    while (back < total && performance.now() < deadline) {
      poll.poll(events, 50);
      for (const e of events) {
        if (e.token === 1) echoOnce(p.server, sbuf, buggy, owed);
        else {
          let n: number | null;
          while (sent < total && (n = p.client.write(data, sent, total - sent)) !== null) sent += n;
          while ((n = p.client.read(cbuf)) !== null && n > 0) back += n;
        }
      }
    }
    return back;
  } finally {
    poll.close();
    p.close();
    l.close();
  }
}

test('planted bug: ignores a short write: fault injection loses bytes within 20 seeds; the correct echo loses none', () => {
  let caughtAt = -1;
  for (let seed = 1; seed <= 20 && caughtAt < 0; seed++) if (echoUnderFaults(seed, true) < 64 * 1024) caughtAt = seed;
  assert.ok(caughtAt > 0, 'a seed in 1..20 shows the bytes the bug dropped');
  for (let seed = 1; seed <= 5; seed++)
    assert.is(echoUnderFaults(seed, false), 64 * 1024, `seed ${seed}: the correct echo returns every byte`);
  console.log(`  (the short-write bug lost bytes first with METAL_IO_FAULTS=${caughtAt},rate=0.2)`);
});

test.run();
