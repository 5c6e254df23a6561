// Shared helpers for event-queue tests (mio's expect_events / expect_no_events).

import { readdirSync, readlinkSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { type Event, type Events, Poll, type Source } from '../../src/index.js';
import { TcpListener, TcpStream } from '../../src/net.js';
import sys, { constants as C } from '../../src/sys/index.js';
import { pipe } from '../../src/unix.js';

export interface Expected {
  token: number;
  readable?: boolean;
  writable?: boolean;
  readClosed?: boolean;
  writeClosed?: boolean;
  error?: boolean;
}

function matches(e: Event, x: Expected): boolean {
  return (
    e.token === x.token &&
    (x.readable === undefined || e.isReadable() === x.readable) &&
    (x.writable === undefined || e.isWritable() === x.writable) &&
    (x.readClosed === undefined || e.isReadClosed() === x.readClosed) &&
    (x.writeClosed === undefined || e.isWriteClosed() === x.writeClosed) &&
    (x.error === undefined || e.isError() === x.error)
  );
}

const describeEvent = (e: Event) =>
  `{token ${e.token}${e.isReadable() ? ' R' : ''}${e.isWritable() ? ' W' : ''}${e.isReadClosed() ? ' RC' : ''}${e.isWriteClosed() ? ' WC' : ''}${e.isError() ? ' ERR' : ''}}`;

/** Polls until every expected event was seen (in any order), or fails after `withinMs`. */
export function expectEvents(poll: Poll, events: Events, expected: Expected[], withinMs = 1000): void {
  const left = [...expected];
  const seen: string[] = [];
  const deadline = performance.now() + withinMs;
  while (left.length && performance.now() < deadline) {
    poll.poll(events, Math.max(0, deadline - performance.now()));
    for (const e of events) {
      seen.push(describeEvent(e));
      const i = left.findIndex((x) => matches(e, x));
      if (i >= 0) left.splice(i, 1);
    }
  }
  assert.equal(left, [], `missing events ${JSON.stringify(left)}; saw ${seen.join(' ') || 'none'}`);
}

/** Asserts that a poll of `ms` milliseconds returns nothing. */
export function expectNoEvents(poll: Poll, events: Events, ms = 30): void {
  poll.poll(events, ms);
  assert.is(events.length, 0, `expected no events, got ${[...events].map(describeEvent).join(' ')}`);
}

/** Asserts `fn` throws an Error with this `code` (and `syscall`, when given). */
export function assertCode(fn: () => unknown, code: string, syscall?: string): Error & { code: string; errno: number; syscall: string } {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code: string; errno: number; syscall: string };
    assert.is(err.code, code, `${err.message}`);
    if (syscall) assert.is(err.syscall, syscall);
    assert.type(err.errno, 'number');
    return err;
  }
  assert.unreachable(`expected an error with code ${code}`);
  throw new Error('unreachable');
}

/** Windows: how many handles this process has open (GetProcessHandleCount). */
export function handleCount(): number {
  const n = new Uint32Array(1);
  assert.ok(sys.GetProcessHandleCount!(sys.GetCurrentProcess!(), n));
  return n[0]!;
}

/** File descriptors this process has open (Linux /proc), or null where that cannot be read. */
export function openFds(): Set<number> | null {
  if (process.platform === 'win32') return null; // (under Wine, /proc would be the Linux process's)
  try {
    return new Set(readdirSync('/proc/self/fd').map(Number));
  } catch {
    return null;
  }
}

/**
 * The fds opened since `before` that stay open, after letting deferred cleanup finish: libkqueue
 * (the kqueue backend on Linux) releases a closed kqueue's fds from its monitoring thread, and keeps
 * process-wide fds of its own once started (an eventpoll and an eventfd).
 */
export async function leakedSince(before: Set<number>): Promise<number[]> {
  let leaked: number[] = [];
  for (let i = 0; i < 50; i++) {
    // The listing's own fd (the lowest free one, so not always the number `before` held) is closed by now.
    leaked = [...openFds()!].filter((fd) => !before.has(fd) && stillOpen(fd) && !libkqueueOwn(fd));
    if (leaked.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return leaked;
}

function stillOpen(fd: number): boolean {
  try {
    readlinkSync(`/proc/self/fd/${fd}`);
    return true;
  } catch {
    return false;
  }
}

function libkqueueOwn(fd: number): boolean {
  if (!onLibkqueue) return false;
  try {
    const l = readlinkSync(`/proc/self/fd/${fd}`);
    return l === 'anon_inode:[eventpoll]' || l === 'anon_inode:[eventfd]';
  } catch {
    return false;
  }
}

/** The Windows Node under Wine, whose AFD and Winsock are emulations over Linux sockets. */
export const onWine = process.platform === 'win32' && !!process.env.WINEPREFIX;

/** The kqueue backend on Linux, through libkqueue (an emulation: see README). */
export const onLibkqueue = process.env.METAL_IO_BACKEND === 'kqueue' && process.platform === 'linux';

/** Whether a child process would not inherit fd: FD_CLOEXEC on Unix, no HANDLE_FLAG_INHERIT on Windows. */
export function isCloexec(fd: number): boolean {
  if (process.platform === 'win32') {
    const flags = new Uint32Array(1);
    if (!sys.GetHandleInformation!(fd, flags)) throw new Error(`GetHandleInformation failed: ${sys.GetLastError!()}`);
    return (flags[0]! & C.HANDLE_FLAG_INHERIT!) === 0;
  }
  return (sys.fcntl!(fd, C.F_GETFD!, 'int', 0) & C.FD_CLOEXEC!) !== 0;
}

/** setsockopt(2) or Winsock's, for tests that set options the library does not wrap. */
export function setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number {
  return process.platform === 'win32' ? sys.ws_setsockopt!(fd, level, name, value, len) : sys.setsockopt!(fd, level, name, value, len);
}

/** Unix-only test bodies: on Windows they say so and return. */
export function unixOnly(what: string): boolean {
  if (process.platform !== 'win32') return true;
  console.log(`  SKIP ${what}: Unix-only (pipes, fds, SourceFd) [win32-${process.arch}]`);
  return false;
}

/**
 * A one-way byte channel with both ends owned by the library: a pipe on Unix, a loopback TCP
 * connection on Windows (where pipe() does not exist). [tx, rx].
 */
export function channel(): [
  { write(b: Uint8Array): number | null; close(): void } & Source,
  { read(b: Uint8Array): number | null; close(): void } & Source,
] {
  if (process.platform !== 'win32') return pipe();
  const l = TcpListener.bind('127.0.0.1:0');
  try {
    const tx = TcpStream.connect(l.localAddr());
    const deadline = Date.now() + 5000;
    let a: ReturnType<typeof l.accept> = null;
    while (!(a = l.accept()) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    if (!a) throw new Error('loopback connection not accepted');
    return [tx, a[0]];
  } finally {
    l.close();
  }
}

/** The backend this process's Polls run on (METAL_IO_BACKEND's, or the platform's default): asked of a Poll, not derived here. */
export const backend: string = (() => {
  const p = new Poll();
  try {
    return p.backend;
  } finally {
    p.close();
  }
})();
/** Backends that emulate edge-triggering only for library-owned sources. */
export const sourceFdIsLevel = backend === 'poll';
