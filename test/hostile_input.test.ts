// Property-based: every public method, driven with hostile values (lying length/byteLength,
// Proxies, subclasses, detached, shared and resizable memory, getters that throw, huge and negative
// numbers, closed objects). Each call must return, or throw a TypeError/RangeError with a Node ERR_*
// code, or a system Error with code/errno/syscall (or the caller's own exception from its getter,
// passed through). Buffers live in arenas whose tails are canaries: no call may write past a buffer,
// and no transfer may report more bytes than the buffer really has. At the end no fd is left open.
//
// Fixed seed and a bounded number of runs here; `npm run test:fuzz` runs longer
// (METAL_IO_FUZZ_RUNS, METAL_IO_FUZZ_SEED).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { closeSync } from 'node:fs';
import { Socket as NodeSocket } from 'node:net';
import { Poll, Events, Interest, Waker, Registry, Signals } from '../src/index.js';
import { TcpListener, TcpStream, UdpSocket, PeerAddress, DatagramBatch } from '../src/net.js';
import { pipe, UnixStream, UnixDatagram, SourceFd } from '../src/unix.js';
import sys from '../src/sys/index.js';
import { tcpPair } from './_util/net.js';
import { openFds, leakedSince } from './_util/events.js';

const RUNS = Number(process.env.METAL_IO_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.METAL_IO_FUZZ_SEED ?? 0x6d696f);
const unix = process.platform !== 'win32';

/** The caller's own exception, thrown from a hostile getter or trap: it may pass through. */
class Boom extends Error {}

// ---- hostile values, as recipes made fresh for each call --------------------------------------

const CANARY = 0xa5;
interface Made { value: unknown; trueSize?: number; arena?: Uint8Array; tail?: number }

type Recipe = { kind: string; n: number; x?: unknown };
const sizes = fc.constantFrom(0, 1, 7, 16, 64, 4096);
const numbers = fc.oneof(
  fc.constantFrom(-1, 0, 1, 1.5, -0, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, Number.MIN_VALUE, 0xffffffff, 16 << 20),
  fc.integer(), fc.double(),
);
const bufferKinds = ['plain', 'offsetView', 'lyingLength', 'lyingByteLength', 'subclassLiar', 'throwingGetters', 'proxy', 'detached', 'shared', 'resizable', 'dataView', 'int32', 'float64', 'buffer'] as const;
const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  fc.record({ kind: fc.constantFrom(...bufferKinds), n: sizes }),
  fc.record({ kind: fc.constant('number'), n: fc.constant(0), x: numbers }),
  fc.record({ kind: fc.constant('primitive'), n: fc.constant(0), x: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(null, undefined, true, false, 1n, -1n, 2n ** 64n)) }),
  fc.record({ kind: fc.constantFrom('symbol', 'object', 'array', 'arrayOfBuffers', 'arrayWithJunk', 'proxyArray', 'function', 'throwingObject', 'throwingProxy', 'closedStream', 'events', 'fakeEvents', 'peer', 'fakePeer', 'batch', 'fakeBatch', 'registry', 'fakeRegistry', 'abortSignal', 'loopbackAddr', 'addrObject'), n: sizes }),
);

function arena(n: number, shared = false): { arena: Uint8Array; view: Uint8Array } {
  const a = new Uint8Array(shared ? new SharedArrayBuffer(n + 64) : new ArrayBuffer(n + 64)).fill(CANARY);
  return { arena: a, view: a.subarray(0, n) };
}

function make(r: Recipe, ctx: Fixtures): Made {
  const n = r.n;
  switch (r.kind) {
    case 'plain': { const a = arena(n); return { value: a.view, trueSize: n, arena: a.arena, tail: n }; }
    case 'offsetView': { const a = arena(n + 8); const v = a.arena.subarray(8, 8 + n); return { value: v, trueSize: n, arena: a.arena, tail: n + 8 }; }
    case 'lyingLength': { const a = arena(n); Object.defineProperty(a.view, 'length', { value: 16 << 20 }); return { value: a.view, trueSize: n, arena: a.arena, tail: n }; }
    case 'lyingByteLength': { const a = arena(n); Object.defineProperty(a.view, 'byteLength', { value: 1 << 30 }); Object.defineProperty(a.view, 'byteOffset', { value: -8 }); return { value: a.view, trueSize: n, arena: a.arena, tail: n }; }
    case 'subclassLiar': {
      class Liar extends Uint8Array { override get length() { return 1 << 24; } override get byteLength() { return 1 << 24; } override get buffer(): ArrayBuffer { throw new Boom('buffer'); } static get [Symbol.species]() { throw new Boom('species'); } }
      const ab = new ArrayBuffer(n + 64); new Uint8Array(ab).fill(CANARY);
      return { value: new Liar(ab, 0, n), trueSize: n, arena: new Uint8Array(ab), tail: n };
    }
    case 'throwingGetters': { const a = arena(n); for (const k of ['length', 'byteLength', 'byteOffset', 'buffer']) Object.defineProperty(a.view, k, { get() { throw new Boom(k); } }); return { value: a.view, trueSize: n, arena: a.arena, tail: n }; }
    case 'proxy': { const a = arena(n); return { value: new Proxy(a.view, { get(t, k) { if (k === 'length' || k === 'byteLength') return 1 << 24; return Reflect.get(t, k); } }), arena: a.arena, tail: n }; }
    case 'detached': { const ab = new ArrayBuffer(n + 8); const v = new Uint8Array(ab, 0, n); structuredClone(ab, { transfer: [ab] }); return { value: v, trueSize: 0 }; }
    case 'shared': { const a = arena(n, true); return { value: a.view, trueSize: n, arena: a.arena, tail: n }; }
    case 'resizable': {
      const ab = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(n, { maxByteLength: n + 64 });
      return { value: new Uint8Array(ab), trueSize: n };
    }
    case 'dataView': { const a = arena(n); return { value: new DataView(a.arena.buffer, 0, n), trueSize: n, arena: a.arena, tail: n }; }
    case 'int32': { const ab = new ArrayBuffer(n * 4 + 64); new Uint8Array(ab).fill(CANARY); return { value: new Int32Array(ab, 0, n), trueSize: n * 4, arena: new Uint8Array(ab), tail: n * 4 }; }
    case 'float64': { const ab = new ArrayBuffer(n * 8 + 64); new Uint8Array(ab).fill(CANARY); return { value: new Float64Array(ab, 0, n), trueSize: n * 8, arena: new Uint8Array(ab), tail: n * 8 }; }
    case 'buffer': { const b = Buffer.alloc(n + 64, CANARY); return { value: b.subarray(0, n), trueSize: n, arena: b, tail: n }; }
    case 'number': case 'primitive': return { value: r.x };
    case 'symbol': return { value: Symbol('hostile') };
    case 'object': return { value: { length: 1 << 24, byteLength: 1 << 24, fd: 1, token: 1 } };
    case 'array': return { value: [1, 2, 3] };
    case 'arrayOfBuffers': { const a = arena(n); const b = arena(n); Object.defineProperty(a.view, 'length', { value: 1 << 24 }); return { value: [a.view, b.view], trueSize: 2 * n, arena: a.arena, tail: n }; }
    case 'arrayWithJunk': { const a = arena(n); return { value: [a.view, 'junk', null], arena: a.arena, tail: n }; }
    case 'proxyArray': { const a = arena(n); return { value: new Proxy([a.view], { get(t, k) { if (k === 'length') return 1 << 20; return Reflect.get(t, k); } }), arena: a.arena, tail: n }; }
    case 'function': return { value: () => 1 };
    case 'throwingObject': return { value: Object.defineProperties({}, Object.fromEntries(['address', 'port', 'fd', 'type', 'kind', 'length', 'then', 'register', 'aborted'].map((k) => [k, { get() { throw new Boom(k); }, enumerable: true }]))) };
    case 'throwingProxy': return { value: new Proxy({}, { get() { throw new Boom('get'); }, getPrototypeOf() { throw new Boom('proto'); }, has() { throw new Boom('has'); }, ownKeys() { throw new Boom('keys'); }, getOwnPropertyDescriptor() { throw new Boom('desc'); } }) };
    case 'closedStream': { const s = UdpSocket.bind('127.0.0.1:0'); s.close(); return { value: s }; }
    case 'events': return { value: new Events(1 + (n % 8)) };
    case 'peer': return { value: n % 2 ? new PeerAddress() : new PeerAddress(ctx.udp.localAddr()) };
    case 'fakePeer': return { value: n % 2 ? Object.create(PeerAddress.prototype) : { bytes: Buffer.alloc(1), len: 1 << 20 } };
    case 'batch': return { value: new DatagramBatch(1 + (n % 4), 1 + n) };
    case 'fakeBatch': return { value: Object.create(DatagramBatch.prototype) };
    case 'fakeEvents': { class Big extends Events { override get capacity() { return 1 << 20; } } return { value: n % 2 ? new Big(1) : Object.create(Events.prototype) }; }
    case 'registry': return { value: ctx.poll.registry() };
    case 'fakeRegistry': return { value: Object.create(Registry.prototype) };
    case 'abortSignal': return { value: n % 2 ? AbortSignal.abort() : new AbortController().signal };
    case 'loopbackAddr': return { value: n % 2 ? '127.0.0.1:0' : { address: '127.0.0.1', port: n } };
    case 'addrObject': return { value: { address: n % 2 ? '127.0.0.1' : '::1', port: 2 ** 40, flowinfo: -1, scopeId: 2 ** 33 } };
    default: throw new Error(`no recipe ${r.kind}`);
  }
}

// ---- what is called ----------------------------------------------------------------------------

interface Fixtures { poll: Poll; events: Events; waker: Waker; tcp: ReturnType<typeof tcpPair>; udp: UdpSocket; udpPeer: string; udpPeerAddr: PeerAddress; peer: PeerAddress; batch: DatagramBatch; pipe?: ReturnType<typeof pipe>; ustream?: [UnixStream, UnixStream]; udgram?: [UnixDatagram, UnixDatagram] }

function fixtures(): Fixtures {
  const poll = new Poll();
  const udp = UdpSocket.bind('127.0.0.1:0');
  return {
    poll, events: new Events(8), waker: new Waker(poll.registry(), 99), tcp: tcpPair(), udp, udpPeer: `127.0.0.1:${udp.localAddr().port}`,
    udpPeerAddr: new PeerAddress(udp.localAddr()), peer: new PeerAddress(), batch: new DatagramBatch(4, 64),
    ...(unix ? { pipe: pipe(), ustream: UnixStream.pair(), udgram: UnixDatagram.pair() } : {}),
  };
}

function closeAll(f: Fixtures): void {
  for (const c of [f.tcp.client, f.tcp.server, f.tcp.listener, f.udp, ...(f.pipe ?? []), ...(f.ustream ?? []), ...(f.udgram ?? []), f.waker, f.poll]) c.close();
}

type Target = { name: string; call(f: Fixtures, a: unknown[]): unknown; transfer?: number; async?: boolean };
const streamMethods = ['read', 'write', 'peek', 'readv', 'writev', 'register', 'reregister', 'deregister', 'shutdown', 'setNodelay', 'setTtl', 'tryIo', 'takeError', 'close'];
const targets: Target[] = [
  ...streamMethods.map((m): Target => ({ name: `TcpStream.${m}`, call: (f, a) => (f.tcp.server as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a), transfer: ['read', 'write', 'peek', 'readv', 'writev'].includes(m) ? 0 : undefined })),
  ...['read', 'write'].map((m): Target => ({ name: `TcpStream.${m} (client)`, call: (f, a) => (f.tcp.client as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a), transfer: 0 })),
  { name: 'TcpListener.accept', call: (f) => f.tcp.listener.accept() },
  ...['setRecvBufferSize', 'setSendBufferSize', 'setLinger', 'setKeepalive', 'setTcpKeepalive', 'setNodelay'].map((m): Target => ({ name: `TcpStream.${m}`, call: (f, a) => (f.tcp.client as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a) })),
  { name: 'new Signals', call: (_f, a) => new Signals(a[0] as never) },
  { name: 'TcpListener.bind (options)', call: (_f, a) => TcpListener.bind('127.0.0.1:0', a[0] as never) },
  { name: 'UdpSocket.bind (options)', call: (_f, a) => UdpSocket.bind('127.0.0.1:0', a[0] as never) },
  { name: 'TcpStream.fromNodeSocket', call: (_f, a) => TcpStream.fromNodeSocket(a[0] as never) },
  { name: 'UdpSocket.fromNodeDgram', call: (_f, a) => UdpSocket.fromNodeDgram(a[0] as never) },
  { name: 'TcpListener.fromNodeServer', call: (_f, a) => TcpListener.fromNodeServer(a[0] as never) },
  { name: 'TcpListener.intoNodeServer', call: (f, a) => f.tcp.listener.intoNodeServer(a[0] as never) },
  { name: 'TcpListener.acceptShedAfter=', call: (f, a) => { f.tcp.listener.acceptShedAfter = a[0] as number; } },
  { name: 'TcpListener.setTtl', call: (f, a) => f.tcp.listener.setTtl(a[0] as number) },
  ...['recvFrom', 'peekFrom', 'send', 'recv', 'peek'].map((m): Target => ({ name: `UdpSocket.${m}`, call: (f, a) => (f.udp as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a), transfer: 0 })),
  { name: 'UdpSocket.sendTo', call: (f, a) => f.udp.sendTo(a[0] as never, f.udpPeer, a[1] as never, a[2] as never), transfer: 0 },
  { name: 'UdpSocket.recvFromPeer', call: (f, a) => f.udp.recvFromPeer(a[0] as never, a[1] as never, a[2] as never, a[3] as never), transfer: 0 },
  { name: 'UdpSocket.recvFromPeer (peer)', call: (f, a) => f.udp.recvFromPeer(a[0] as never, f.peer, a[1] as never, a[2] as never), transfer: 0 },
  { name: 'UdpSocket.sendToPeer', call: (f, a) => f.udp.sendToPeer(a[0] as never, f.udpPeerAddr, a[1] as never, a[2] as never), transfer: 0 },
  { name: 'UdpSocket.sendToPeer (peer)', call: (f, a) => f.udp.sendToPeer(Buffer.from('x'), a[0] as never) },
  { name: 'UdpSocket.sendSegments', call: (f, a) => f.udp.sendSegments(a[0] as never, a[1] as never, f.udpPeerAddr, a[2] as never, a[3] as never), transfer: 0 },
  { name: 'UdpSocket.sendSegments (peer)', call: (f, a) => f.udp.sendSegments(Buffer.alloc(100), 10, a[0] as never) },
  { name: 'UdpSocket.recvMany', call: (f, a) => f.udp.recvMany(a[0] as never) },
  { name: 'UdpSocket.recvMany (batch)', call: (f) => f.udp.recvMany(f.batch) },
  { name: 'UdpSocket.sendMany', call: (f, a) => f.udp.sendMany(a[0] as never, a[1] as never) },
  { name: 'UdpSocket.sendMany (batch)', call: (f, a) => f.udp.sendMany(f.batch, a[0] as never) },
  { name: 'UdpSocket.setGro', call: (f, a) => f.udp.setGro(a[0] as never) },
  { name: 'new DatagramBatch', call: (_f, a) => new DatagramBatch(a[0] as never, a[1] as never) },
  ...['setLength', 'slot', 'data', 'lengthOf', 'peer', 'truncated', 'segmentSize', 'offset'].map((m): Target => ({ name: `DatagramBatch.${m}`, call: (f, a) => (f.batch as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a) })),
  { name: 'new PeerAddress', call: (_f, a) => new PeerAddress(typeof a[0] === 'string' ? '127.0.0.1:1' : a[0] as never) },
  ...['copyFrom', 'equals', 'set'].map((m): Target => ({ name: `PeerAddress.${m}`, call: (f, a) => (f.peer as never as Record<string, (...x: unknown[]) => unknown>)[m]!(m === 'set' && typeof a[0] === 'string' ? '127.0.0.1:1' : a[0]) })),
  { name: 'UdpSocket.sendTo (addr)', call: (f, a) => f.udp.sendTo(Buffer.from('x'), a[0] as never) },
  ...['setMulticastTtlV4', 'setBroadcast', 'setTtl', 'joinMulticastV6', 'joinMulticastV4'].map((m): Target => ({ name: `UdpSocket.${m}`, call: (f, a) => (f.udp as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a) })),
  ...(unix ? ([
    ...['read'].map((m): Target => ({ name: `Receiver.${m}`, call: (f, a) => f.pipe![1].read(a[0] as never, a[1] as never, a[2] as never), transfer: 0 })),
    { name: 'Sender.write', call: (f, a) => f.pipe![0].write(a[0] as never, a[1] as never, a[2] as never), transfer: 0 },
    { name: 'Sender.setNonblocking', call: (f, a) => f.pipe![0].setNonblocking(a[0] as never) },
    ...['read', 'write', 'peek', 'readv', 'writev'].map((m): Target => ({ name: `UnixStream.${m}`, call: (f, a) => (f.ustream![0] as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a), transfer: 0 })),
    ...['send', 'recv', 'recvFrom'].map((m): Target => ({ name: `UnixDatagram.${m}`, call: (f, a) => (f.udgram![1] as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a), transfer: 0 })),
    { name: 'new SourceFd', call: (_f, a) => new SourceFd(a[0] as number) },
  ] as Target[]) : []),
  { name: 'Poll.poll', call: (f, a) => { f.waker.wake(); return f.poll.poll(a[0] as Events, a[1] as number); } },
  { name: 'Poll.pollAsync', call: (f, a) => { f.waker.wake(); return f.poll.pollAsync(a[0] as Events, a[1] as number, a[2] as AbortSignal); }, async: true },
  { name: 'Registry.register', call: (f, a) => f.poll.registry().register(a[0] as never, a[1] as number, a[2] as number) },
  { name: 'Registry.register (stream)', call: (f, a) => f.poll.registry().register(f.tcp.server, a[0] as number, a[1] as number) },
  { name: 'Registry.reregister', call: (f, a) => f.poll.registry().reregister(f.tcp.server, a[0] as number, a[1] as number) },
  { name: 'Registry.deregister', call: (f, a) => f.poll.registry().deregister(a[0] as never) },
  { name: 'new Waker', call: (_f, a) => new Waker(a[0] as Registry, a[1] as number) },
  { name: 'Waker.fromHandle', call: (_f, a) => Waker.fromHandle(a[0] as never) },
  { name: 'Waker.fromHandle (mutated)', call: (f, a) => Waker.fromHandle({ ...f.waker.handle, [['fd', 'token', 'state', 'kind', 'backend', 'ident'][typeof a[1] === 'number' ? Math.abs(a[1] | 0) % 6 : 0]!]: a[0] } as never) },
  { name: 'new Events', call: (_f, a) => new Events(a[0] as number) },
  { name: 'Events.get', call: (f, a) => f.events.get(a[0] as number) },
  ...['add', 'remove', 'format', 'isReadable'].map((m): Target => ({ name: `Interest.${m}`, call: (_f, a) => (Interest as unknown as Record<string, (...x: unknown[]) => unknown>)[m]!(...a) })),
  { name: 'TcpListener.bind', call: (_f, a) => TcpListener.bind(a[0] as never) },
  { name: 'UdpSocket.bind', call: (_f, a) => UdpSocket.bind(a[0] as never) },
  { name: 'TcpStream.connect', call: (_f, a) => TcpStream.connect(typeof a[0] === 'string' ? '127.0.0.1:1' : a[0] as never) },
  { name: 'sys.pinnedBuffer', call: (_f, a) => { const n = a[0]; if (typeof n === 'number' && n > 1 << 20) return null; return sys.pinnedBuffer(n as number); } },
  { name: 'sys.addressOf', call: (_f, a) => sys.addressOf(a[0] as never) },
];

// Only loopback is ever a target: connect() gets '127.0.0.1:1' for any string, bind() only binds.
function loopbackOnly(a: unknown[]): boolean {
  return a.every((v) => typeof v !== 'string' || !/^[\d.:[\]a-f]+$/i.test(v) || /^(127\.|\[?::1\]?|0\.0\.0\.0|\[?::\]?)/.test(v));
}

function acceptable(e: unknown): string | null {
  if (e instanceof Boom) return null;
  if ((e instanceof TypeError || e instanceof RangeError) && typeof (e as { code?: unknown }).code === 'string' && /^ERR_/.test((e as unknown as { code: string }).code)) return null;
  const s = e as { code?: unknown; errno?: unknown; syscall?: unknown };
  if (e instanceof Error && typeof s.code === 'string' && typeof s.errno === 'number' && typeof s.syscall === 'string') return null;
  if (e instanceof Error && typeof s.code === 'string' && /^ERR_METAL_IO_/.test(s.code)) return null;
  return `${(e as Error)?.constructor?.name}: ${(e as Error)?.message} (code ${String(s?.code)})`;
}

/** Closes whatever a call returned that owns an fd (accepted streams, new listeners, node:net objects). */
function release(r: unknown): void {
  if (r && typeof r === 'object') {
    if (Array.isArray(r)) { for (const x of r) release(x); return; }
    if (r instanceof NodeSocket) { r.destroy(); return; }
    const c = (r as { close?: unknown }).close;
    if (typeof c === 'function' && !(r instanceof Registry)) (c as () => void).call(r);
  }
}

test(`every public method survives hostile values (${RUNS} runs, seed ${SEED})`, async () => {
  TcpListener.bind('127.0.0.1:0').close(); // the process-wide spare fd exists before we count
  const before = openFds();
  const seen = new Map<string, number>();
  await fc.assert(fc.asyncProperty(fc.nat(targets.length - 1), fc.array(recipe, { maxLength: 4 }), async (which, recipes) => {
    const t = targets[which]!;
    const f = fixtures();
    try {
      const made = recipes.map((r) => make(r, f));
      const args = made.map((m) => m.value);
      if (!loopbackOnly(args)) return;
      // Some bytes for reads to find.
      f.tcp.client.write(Buffer.alloc(128, 1)); f.udp.sendTo(Buffer.alloc(32, 2), f.udpPeer);
      f.pipe?.[0].write(Buffer.alloc(64, 3)); f.ustream?.[1].write(Buffer.alloc(64, 4)); f.udgram?.[0].send(Buffer.alloc(16, 5));
      let result: unknown;
      try {
        result = t.call(f, args);
        if (t.async || result instanceof Promise) result = await Promise.race([result, new Promise((r) => setTimeout(() => r('pending'), 2000))]);
      } catch (e) {
        const why = acceptable(e);
        if (why) throw new Error(`${t.name}(${recipes.map((r) => r.kind).join(', ')}) threw ${why}`);
      }
      seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      // Nothing written past any buffer; no transfer reports more than the buffer really has.
      for (const [i, m] of made.entries()) {
        if (m.arena) assert.ok(m.arena.subarray(m.tail!).every((b) => b === CANARY), `${t.name}: bytes written past argument ${i} (${recipes[i]!.kind})`);
      }
      if (t.transfer !== undefined && typeof result === 'number') {
        const cap = made[0]?.trueSize;
        if (cap !== undefined) assert.ok(result <= cap, `${t.name}(${recipes[0]!.kind}) moved ${result} bytes of a ${cap}-byte buffer`);
      }
      if (Array.isArray(result) && typeof result[0] === 'number' && made[0]?.trueSize !== undefined) assert.ok(result[0] <= made[0].trueSize!, `${t.name}: datagram count`);
      release(result);
    } finally { closeAll(f); }
  }), { seed: SEED, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true });
  assert.ok(seen.size > targets.length / 2, `most targets were exercised (${seen.size} of ${targets.length})`);
  if (before) assert.equal(await leakedSince(before), [], 'no fd leaked');
  else console.log(`  (fd leak check skipped: no /proc/self/fd on ${process.platform}-${process.arch})`);
});

test('intoRawFd hands the fd over, open; the object is closed', () => {
  const s = UdpSocket.bind('127.0.0.1:0');
  const fd = s.intoRawFd();
  assert.throws(() => s.intoRawFd(), (e: { code?: string }) => e.code === 'EBADF');
  assert.throws(() => s.recv(Buffer.alloc(1)), (e: { code?: string }) => e.code === 'EBADF');
  if (process.platform === 'win32') { UdpSocket.fromFd(fd).close(); return; }
  closeSync(fd); // still open: closing it here works
});

test.run();
