// Out of fds at accept, with the plainest loop there is: on every readable event of the listener,
// accept() until null. No acceptRetryIn(), no retry after a close: the Poll reports a paused
// listener readable again by itself (after the back-off, or at once when a metal-io fd closes).
// The fd limit is lowered for this process with prlimit(1) and restored after.

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, type PollOptions } from '../src/index.js';
import { TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import { available } from './_util/env.js';

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The soft and hard RLIMIT_NOFILE of this process, from /proc (Linux), or null. */
function nofile(): [string, string] | null {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? [m[1]!, m[2]!] : null;
  } catch {
    return null;
  }
}
const setNofile = (soft: string, hard: string) =>
  spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard}`]).status === 0;

/** Opens /dev/null until the process is out of fds; returns what it opened. */
function takeAllFds(): number[] {
  const fds: number[] = [];
  for (;;) {
    try {
      fds.push(openSync('/dev/null', 'r'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EMFILE') return fds;
      for (const fd of fds) closeSync(fd);
      throw e;
    }
  }
}

/** Runs `body` with the fd limit lowered to a little above what is open now, or skips. */
function withFewFds(what: string, body: () => void): void {
  if (process.platform !== 'linux') {
    console.log(`  SKIP ${what}: lowers the fd limit through Linux's /proc and prlimit(1) [${process.platform}-${process.arch}]`);
    return;
  }
  const before = nofile();
  const ok = before !== null && setNofile(String(256 + readdirSync('/proc/self/fd').length), before[1]);
  if (!available(ok, what, "prlimit(1) could not lower this process's fd limit")) return;
  try {
    body();
  } finally {
    setNofile(before![0], before![1]);
  }
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

/** A registered listener with one client queued, and every fd of the process taken; `spare` is an fd to give back. */
function outOfFds(shedAfter: number | null, options?: PollOptions) {
  const poll = new Poll(options);
  const events = new Events(16);
  const l = TcpListener.bind('127.0.0.1:0');
  l.acceptShedAfter = shedAfter;
  const spare = UdpSocket.bind('127.0.0.1:0');
  const clients: TcpStream[] = [];
  const accepted: TcpStream[] = [];
  const hog: number[] = [];
  poll.registry().register(l, 0, Interest.READABLE);
  clients.push(TcpStream.connect(l.localAddr()));
  sleep(20); // the handshake completes into the backlog
  hog.push(...takeAllFds());
  return {
    poll,
    events,
    l,
    spare,
    clients,
    accepted,
    hog,
    close(): void {
      for (const fd of hog) closeSync(fd);
      for (const s of [...clients, ...accepted]) s.close();
      spare.close();
      l.close();
      poll.close();
    },
  };
}

test('out of fds: a plain accept-until-null loop accepts the queued clients once fds are free (after the back-off, no extra code)', () => {
  withFewFds('accept with a plain loop after EMFILE', () => {
    const poll = new Poll();
    const events = new Events(16);
    const l = TcpListener.bind('127.0.0.1:0');
    l.acceptShedAfter = null; // keep the queue: this test wants them accepted, not refused
    const clients: TcpStream[] = [];
    const accepted: TcpStream[] = [];
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
      l.close();
      poll.close();
    }
  });
});

test('out of fds, waiting with pollAsync: the plain loop accepts the queued clients once fds are free', async () => {
  if (process.platform !== 'linux') {
    console.log(
      `  SKIP accept with pollAsync after EMFILE: lowers the fd limit through Linux's /proc and prlimit(1) [${process.platform}-${process.arch}]`,
    );
    return;
  }
  const before = nofile();
  if (
    !available(
      before !== null && setNofile(String(256 + readdirSync('/proc/self/fd').length), before[1]),
      'accept with pollAsync after EMFILE',
      "prlimit(1) could not lower this process's fd limit",
    )
  )
    return;
  const poll = new Poll();
  const events = new Events(16);
  const l = TcpListener.bind('127.0.0.1:0');
  l.acceptShedAfter = null;
  const clients: TcpStream[] = [];
  const accepted: TcpStream[] = [];
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
      if (!freed && l.acceptPaused) {
        freed = true;
        for (const fd of hog.splice(0, 8)) closeSync(fd);
      }
    }
    assert.ok(freed, 'accept paused on EMFILE first');
    assert.is(accepted.length, 3, 'every queued client accepted');
  } finally {
    for (const fd of hog) closeSync(fd);
    for (const s of [...clients, ...accepted]) s.close();
    l.close();
    poll.close();
    setNofile(before![0], before![1]);
  }
});

test('out of fds: closing any metal-io object makes a paused listener readable at once (retry due now)', () => {
  withFewFds('accept retried after a close', () => {
    const x = outOfFds(null);
    const { poll, l, events, accepted } = x;
    try {
      // Still out of fds: each retry fails and the back-off doubles until it is long.
      const deadline = performance.now() + 3000;
      do turn(poll, events, l, accepted, 1000);
      while ((l.acceptRetryIn() ?? 0) < 150 && performance.now() < deadline);
      assert.ok(l.acceptPaused);
      assert.ok(l.acceptRetryIn()! >= 150, `the back-off grew (${l.acceptRetryIn()} ms)`);
      x.spare.close();
      assert.is(l.acceptRetryIn(), 0, 'a close made the retry due now');
      poll.poll(events, 0);
      assert.equal(
        [...events].map((e) => e.token),
        [0],
        'the listener is reported without waiting',
      );
      const c = l.accept();
      assert.ok(c !== null, 'and the freed fd takes the queued client');
      accepted.push(c[0]);
    } finally {
      x.close();
    }
  });
});

// The misuse detector on a paused listener: its retry event must be answered with accept(), and
// deregistering it while paused means it is never retried. The plain loop is not reported.
test('the misuse detector names a paused listener whose retry goes unanswered or that is deregistered; the plain loop is fine', () => {
  withFewFds('the misuse detector and a paused listener', () => {
    for (const loop of ['ignores the retry', 'deregisters it', 'accepts until null'] as const) {
      const x = outOfFds(null, { check: 'strict' });
      let err: (Error & { code?: string }) | null = null;
      try {
        assert.is(x.l.accept(), null);
        assert.ok(x.l.acceptPaused, 'out of fds: paused');
        try {
          if (loop === 'deregisters it') x.poll.registry().deregister(x.l);
          else
            for (let i = 0; i < 4; i++)
              if (loop === 'ignores the retry') x.poll.poll(x.events, 100);
              else turn(x.poll, x.events, x.l, x.accepted, 100);
        } catch (e) {
          err = e as Error & { code?: string };
        }
        if (loop === 'accepts until null') {
          assert.is(err, null, `${loop}: no misuse`);
          continue;
        }
        assert.is(err?.code, 'ERR_METAL_IO_MISUSE', `${loop}: reported`);
        assert.match(err!.message, /^metal-io misuse: token 0: a listener paused by fd exhaustion \(EMFILE\) was/);
        // Bundled with the library (qemu), the caller's frames are in the bundle too: any line there.
        assert.match(
          err!.message,
          import.meta.url.endsWith('.ts') ? /\(at .*accept_exhaustion\.test\.ts:\d+:\d+\)$/ : /\(at .+:\d+:\d+\)$/,
          `with the caller's line: ${err!.message}`,
        );
      } finally {
        x.close();
      }
    }
  });
});

// Shedding (libuv's reserved-fd trick) is for a server that makes no progress: a pause that lasts
// acceptShedAfter ms with no fd closed meanwhile. A close restarts the clock, even when the fd it
// freed is taken again at once (here by the test): the connections queued then are not refused.
test('out of fds for long: the queue is refused, but a close since the last attempt restarts the clock first', () => {
  withFewFds('shedding after a long pause', () => {
    const x = outOfFds(300);
    const { l, clients } = x;
    try {
      assert.is(l.accept(), null);
      assert.ok(l.acceptPaused, 'out of fds: paused');
      sleep(350);
      x.spare.close(); // progress: an fd freed...
      x.hog.push(openSync('/dev/null', 'r')); // ...and taken again at once
      assert.is(l.accept(), null, 'still out of fds');
      assert.is(l.acceptShedCount, 0, 'a close since the last attempt: nothing refused, though the pause is older than acceptShedAfter');
      sleep(350);
      assert.is(l.accept(), null);
      assert.is(l.acceptShedCount, 1, 'no close for acceptShedAfter ms: the queued client is refused');
      const got = Buffer.alloc(8);
      const until = performance.now() + 2000;
      let r: number | null = null;
      for (;;) {
        try {
          r = clients[0]!.read(got);
        } catch (e) {
          r = (e as { code?: string }).code === 'ECONNRESET' ? 0 : -1;
        }
        if (r !== null || performance.now() > until) break;
        sleep(5);
      }
      assert.is(r, 0, 'the refused client sees its connection closed');
    } finally {
      x.close();
    }
  });
});

test.run();
