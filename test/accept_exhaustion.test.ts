// Out of fds at accept, with the plainest loop there is: on every readable event of the listener,
// accept() until null. No acceptRetryIn(), no retry after a close: the Poll reports a paused
// listener readable again by itself (after the back-off, or at once when a metal-io fd closes).
// The fd limit is lowered for this process with prlimit(1) and restored after.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { Poll, Events, Interest } from '../src/index.js';
import { TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import { available } from './_util/env.js';

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The soft and hard RLIMIT_NOFILE of this process, from /proc (Linux), or null. */
function nofile(): [string, string] | null {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? [m[1]!, m[2]!] : null;
  } catch { return null; }
}
const setNofile = (soft: string, hard: string) => spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard}`]).status === 0;

/** Opens /dev/null until the process is out of fds; returns what it opened. */
function takeAllFds(): number[] {
  const fds: number[] = [];
  for (;;) {
    try { fds.push(openSync('/dev/null', 'r')); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EMFILE') return fds;
      for (const fd of fds) closeSync(fd);
      throw e;
    }
  }
}

/** Runs `body` with the fd limit lowered to a little above what is open now, or skips. */
function withFewFds(what: string, body: () => void): void {
  if (process.platform !== 'linux') { console.log(`  SKIP ${what}: lowers the fd limit through Linux's /proc and prlimit(1) [${process.platform}-${process.arch}]`); return; }
  const before = nofile();
  const ok = before !== null && setNofile(String(256 + readdirSync('/proc/self/fd').length), before[1]);
  if (!available(ok, what, 'prlimit(1) could not lower this process\'s fd limit')) return;
  try { body(); } finally { setNofile(before![0], before![1]); }
}

/** The plain loop: one poll, then accept until null on the listener's events. */
function turn(poll: Poll, events: Events, l: TcpListener, accepted: TcpStream[], timeoutMs: number): void {
  poll.poll(events, timeoutMs);
  for (const e of events) {
    if (e.token !== 0) continue;
    let c: ReturnType<TcpListener['accept']>;
    while ((c = l.accept()) !== null) accepted.push(c[0]);
  }
}

test('out of fds: a plain accept-until-null loop accepts the queued clients once fds are free (after the back-off, no extra code)', () => {
  withFewFds('accept with a plain loop after EMFILE', () => {
    const poll = new Poll(); const events = new Events(16);
    const l = TcpListener.bind('127.0.0.1:0');
    l.acceptShedAfter = null; // keep the queue: this test wants them accepted, not refused
    const clients: TcpStream[] = []; const accepted: TcpStream[] = [];
    let hog: number[] = [];
    try {
      poll.registry().register(l, 0, Interest.READABLE);
      for (let i = 0; i < 3; i++) clients.push(TcpStream.connect(l.localAddr()));
      sleep(20); // the handshakes complete into the backlog
      hog = takeAllFds();
      turn(poll, events, l, accepted, 200);
      assert.ok(l.acceptPaused, 'accept hit EMFILE and paused');
      assert.is(accepted.length, 0);
      for (const fd of hog.splice(0, 8)) closeSync(fd); // freed behind metal-io's back: only the back-off can notice
      const deadline = performance.now() + 5000;
      while (accepted.length < 3 && performance.now() < deadline) turn(poll, events, l, accepted, 1000);
      assert.is(accepted.length, 3, 'every queued client accepted by the plain loop');
      assert.not.ok(l.acceptPaused, 'the first accept that worked resumed');
    } finally {
      for (const fd of hog) closeSync(fd);
      for (const s of [...clients, ...accepted]) s.close();
      l.close(); poll.close();
    }
  });
});

test('out of fds, waiting with pollAsync: the plain loop accepts the queued clients once fds are free', async () => {
  if (process.platform !== 'linux') { console.log(`  SKIP accept with pollAsync after EMFILE: lowers the fd limit through Linux's /proc and prlimit(1) [${process.platform}-${process.arch}]`); return; }
  const before = nofile();
  if (!available(before !== null && setNofile(String(256 + readdirSync('/proc/self/fd').length), before[1]), 'accept with pollAsync after EMFILE', "prlimit(1) could not lower this process's fd limit")) return;
  const poll = new Poll(); const events = new Events(16);
  const l = TcpListener.bind('127.0.0.1:0');
  l.acceptShedAfter = null;
  const clients: TcpStream[] = []; const accepted: TcpStream[] = [];
  let hog: number[] = [];
  try {
    poll.registry().register(l, 0, Interest.READABLE);
    for (let i = 0; i < 3; i++) clients.push(TcpStream.connect(l.localAddr()));
    sleep(20);
    hog = takeAllFds();
    const deadline = performance.now() + 5000;
    let freed = false;
    while (accepted.length < 3 && performance.now() < deadline) {
      await poll.pollAsync(events, 1000);
      for (const e of events) {
        if (e.token !== 0) continue;
        let c: ReturnType<TcpListener['accept']>;
        while ((c = l.accept()) !== null) accepted.push(c[0]);
      }
      if (!freed && l.acceptPaused) { freed = true; for (const fd of hog.splice(0, 8)) closeSync(fd); }
    }
    assert.ok(freed, 'accept paused on EMFILE first');
    assert.is(accepted.length, 3, 'every queued client accepted');
  } finally {
    for (const fd of hog) closeSync(fd);
    for (const s of [...clients, ...accepted]) s.close();
    l.close(); poll.close();
    setNofile(before![0], before![1]);
  }
});

test('out of fds: closing any metal-io object makes a paused listener readable at once (retry due now)', () => {
  withFewFds('accept retried after a close', () => {
    const poll = new Poll(); const events = new Events(16);
    const l = TcpListener.bind('127.0.0.1:0');
    l.acceptShedAfter = null;
    const spare = UdpSocket.bind('127.0.0.1:0'); // an fd to give back later
    const clients: TcpStream[] = []; const accepted: TcpStream[] = [];
    let hog: number[] = [];
    try {
      poll.registry().register(l, 0, Interest.READABLE);
      clients.push(TcpStream.connect(l.localAddr()));
      sleep(20);
      hog = takeAllFds();
      // Still out of fds: each retry fails and the back-off doubles until it is long.
      const deadline = performance.now() + 3000;
      do turn(poll, events, l, accepted, 1000); while ((l.acceptRetryIn() ?? 0) < 150 && performance.now() < deadline);
      assert.ok(l.acceptPaused);
      assert.ok(l.acceptRetryIn()! >= 150, `the back-off grew (${l.acceptRetryIn()} ms)`);
      spare.close();
      assert.is(l.acceptRetryIn(), 0, 'a close made the retry due now');
      poll.poll(events, 0);
      assert.equal([...events].map((e) => e.token), [0], 'the listener is reported without waiting');
      const c = l.accept();
      assert.ok(c !== null, 'and the freed fd takes the queued client');
      accepted.push(c[0]);
    } finally {
      for (const fd of hog) closeSync(fd);
      for (const s of [...clients, ...accepted]) s.close();
      spare.close(); l.close(); poll.close();
    }
  });
});

test.run();
