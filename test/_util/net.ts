// Shared helpers for net tests.

import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Events, Interest, Poll } from '../../src/index.js';
import { TcpListener, TcpStream } from '../../src/net.js';
import { expectEvents } from './events.js';

/**
 * TcpStream.connect, tried again for up to a second on EAGAIN: Linux's answer when no local port is
 * free for now (a suite that has made thousands of connections holds their TIME_WAIT ports; seen
 * once in CI's third full run of the attacker suite).
 */
function connectRetrying(addr: string): TcpStream {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; ; i++) {
    try {
      return TcpStream.connect(addr);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EAGAIN' || i >= 100) throw e;
      Atomics.wait(nap, 0, 0, 10);
    }
  }
}

/** A connected pair over loopback: [client, server-side stream], both registered with nothing. */
export function tcpPair(host = '127.0.0.1'): { listener: TcpListener; client: TcpStream; server: TcpStream; close(): void } {
  const listener = TcpListener.bind(host.includes(':') ? `[${host}]:0` : `${host}:0`);
  const port = listener.localAddr().port;
  const client = connectRetrying(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(listener, 1, Interest.READABLE);
    poll.registry().register(client, 2, Interest.WRITABLE);
    expectEvents(poll, events, [
      { token: 1, readable: true },
      { token: 2, writable: true },
    ]);
    poll.registry().deregister(listener);
    poll.registry().deregister(client);
  } finally {
    poll.close();
  }
  const accepted = listener.accept();
  if (!accepted) throw new Error('no connection to accept');
  return {
    listener,
    client,
    server: accepted[0],
    close() {
      client.close();
      accepted[0].close();
      listener.close();
    },
  };
}

/** Reads until `n` bytes arrived or `ms` passed, polling `stream` as it goes. */
export function readExactly(stream: { read(b: Uint8Array): number | null }, n: number, ms = 2000): Buffer {
  const out = Buffer.alloc(n);
  let got = 0;
  const deadline = Date.now() + ms;
  while (got < n && Date.now() < deadline) {
    const r = stream.read(out.subarray(got));
    if (r === 0) break;
    if (r === null) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      continue;
    }
    got += r;
  }
  return out.subarray(0, got);
}

export function tempDir(): { dir: string; path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'metal-io-'));
  return { dir, path: (n) => join(dir, n), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether ::1 is configured here (a loopback interface with an IPv6 address). */
export function haveIPv6Loopback(): boolean {
  return Object.values(networkInterfaces())
    .flat()
    .some((i) => i && i.family === 'IPv6' && i.internal && i.address === '::1');
}
