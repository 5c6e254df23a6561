// Property-based: every public method, driven with hostile values (lying length/byteLength,
// Proxies, subclasses, detached, shared and resizable memory, getters that throw, huge and negative
// numbers, closed objects). Each call must return, or throw a TypeError/RangeError with a Node ERR_*
// code, or a system Error with code/errno/syscall (or the caller's own exception from its getter,
// passed through). Buffers live in arenas whose tails are canaries: no call may write past a buffer,
// and no transfer may report more bytes than the buffer really has. At the end no fd is left open.
//
// The adversary also acts *during* the call: values whose valueOf, getters, index properties,
// iterators and Proxy traps close, deregister, detach, resize or transfer something in play (the
// target, the buffers, the batch, the Poll), and prototype patches of Buffer, %TypedArray%,
// DataView, ArrayBuffer, Array, Object and BigInt installed for the call (throwing, lying, or acting
// and then doing the real thing). Every byte a peer receives must be one the test wrote: no heap
// memory ever reaches the wire.
//
// Fixed seed and a bounded number of runs here; `npm run test:fuzz` runs longer
// (METAL_IO_FUZZ_RUNS, METAL_IO_FUZZ_SEED).

import { appendFileSync, closeSync } from 'node:fs';
import { Socket as NodeSocket } from 'node:net';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, Registry, Signals, Waker } from '../src/index.js';
import { DatagramBatch, PeerAddress, TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import sys from '../src/sys/index.js';
import { pipe, SourceFd, UnixDatagram, UnixStream } from '../src/unix.js';
import { leakedSince, openFds } from './_util/events.js';
import { tcpPair } from './_util/net.js';

const RUNS = Number(process.env.METAL_IO_FUZZ_RUNS ?? 300);
const TERMINATIONS = Math.max(4, Math.round(RUNS / 25)); // worker starts are slow: fewer of them
const SEED = Number(process.env.METAL_IO_FUZZ_SEED ?? 0x6d696f);
const unix = process.platform !== 'win32';
const eachRun = process.env.METAL_IO_FUZZ_FD_EACH === '1'; // find which call leaked an fd

/** The caller's own exception, thrown from a hostile getter or trap: it may pass through. */
class Boom extends Error {
  constructor(m: string) {
    super(m);
  }
} // no spread: Array's iterator may be patched

// ---- hostile values, as recipes made fresh for each call --------------------------------------

const CANARY = 0xa5;
// Every byte a peer may receive: buffer contents (CANARY), the fixtures' own writes (1-5), 'x', zeros.
const WRITTEN = new Set([CANARY, 0, 1, 2, 3, 4, 5, 0x78]);
interface Made {
  value: unknown;
  trueSize?: number;
  arena?: Uint8Array;
  tail?: number;
}

type Recipe = { kind: string; n: number; x?: unknown };
const sizes = fc.constantFrom(0, 1, 7, 16, 64, 4096);
const numbers = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    1,
    1.5,
    -0,
    NaN,
    Infinity,
    -Infinity,
    2 ** 31,
    2 ** 31 - 1,
    2 ** 32,
    2 ** 32 + 1,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    1e300,
    Number.MIN_VALUE,
    0xffffffff,
    16 << 20,
  ),
  fc.integer(),
  fc.double(),
);
const bufferKinds = [
  'plain',
  'offsetView',
  'lyingLength',
  'lyingByteLength',
  'subclassLiar',
  'throwingGetters',
  'proxy',
  'detached',
  'shared',
  'resizable',
  'dataView',
  'int32',
  'float64',
  'buffer',
] as const;
const ACTIONS = 10; // act() below
const MEMORY = 8;
const STATE = 9;
const shapes = ['valueOf', 'getterView', 'proxyView', 'addrGetters', 'arrayIndex', 'iterable', 'lengthGetterArray'] as const;
const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('sabotage'), n: fc.nat(ACTIONS * 3 - 1), x: fc.constantFrom(...shapes) }), weight: 2 },
  fc.record({ kind: fc.constantFrom(...bufferKinds), n: sizes }),
  fc.record({ kind: fc.constant('number'), n: fc.constant(0), x: numbers }),
  fc.record({
    kind: fc.constant('primitive'),
    n: fc.constant(0),
    x: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(null, undefined, true, false, 1n, -1n, 2n ** 64n)),
  }),
  fc.record({
    kind: fc.constantFrom(
      'symbol',
      'object',
      'array',
      'arrayOfBuffers',
      'arrayWithJunk',
      'proxyArray',
      'function',
      'throwingObject',
      'throwingProxy',
      'closedStream',
      'events',
      'fakeEvents',
      'peer',
      'fakePeer',
      'batch',
      'fakeBatch',
      'registry',
      'fakeRegistry',
      'abortSignal',
      'loopbackAddr',
      'addrObject',
    ),
    n: sizes,
  }),
);

function arena(n: number, shared = false): { arena: Uint8Array; view: Uint8Array } {
  const a = new Uint8Array(shared ? new SharedArrayBuffer(n + 64) : new ArrayBuffer(n + 64)).fill(CANARY);
  return { arena: a, view: a.subarray(0, n) };
}

// What a hostile callback does mid-call, to the objects in play. Each swallows its own errors.
let acting = false; // an action's own use of a patched builtin does not act again
function act(n: number, ctx: Fixtures): void {
  if (acting) return;
  acting = true;
  try {
    actNow(n, ctx);
  } finally {
    acting = false;
  }
}
function actNow(n: number, ctx: Fixtures): void {
  const tryIt = (f: () => unknown) => {
    try {
      f();
    } catch {
      /* the action itself may be refused */
    }
  };
  switch (n) {
    case 0:
      tryIt(() => ctx.tcp.server.close());
      break;
    case 1:
      tryIt(() => ctx.udp.close());
      break;
    case 2:
      tryIt(() => ctx.poll.registry().deregister(ctx.tcp.server));
      break;
    case 3:
      tryIt(() => ctx.poll.close());
      break;
    // The transferred memory is kept: the same bytes, now another object's. A write the library
    // still makes through its old address shows up there.
    case 4:
      for (const ab of ctx.inPlay)
        if (!(ab instanceof SharedArrayBuffer)) tryIt(() => ctx.moved.push(new Uint8Array(structuredClone(ab, { transfer: [ab] }))));
      break;
    case 5:
      for (const ab of ctx.inPlay) tryIt(() => (ab as unknown as { resize(n: number): void }).resize(0));
      break;
    case 6:
      tryIt(() => structuredClone(ctx.batch.buffer.buffer, { transfer: [ctx.batch.buffer.buffer as ArrayBuffer] }));
      tryIt(() => {
        ctx.batch.length = -1;
      });
      break;
    case 7:
      tryIt(() => ctx.ustream?.[0].close());
      tryIt(() => ctx.pipe?.[0].close());
      tryIt(() => ctx.waker.close());
      break;
    case MEMORY:
      actNow(4, ctx);
      actNow(5, ctx);
      actNow(6, ctx);
      break; // every buffer in play taken away
    case STATE:
      for (const a of [2, 0, 1, 7, 3]) actNow(a, ctx);
      break; // every object in play closed
  }
}

/**
 * A value that runs an action when the library reads it, in one of several shapes: action `n` mod
 * ACTIONS, once, at the (1 + n / ACTIONS)-th read (so a first read may see an honest value and a
 * later one a changed world).
 */
function sabotage(shape: string, n: number, ctx: Fixtures): Made {
  const action = n % ACTIONS;
  const at = 1 + Math.floor(n / ACTIONS);
  let reads = 0;
  const go = () => {
    if (++reads === at) act(action, ctx);
  };
  switch (shape) {
    case 'valueOf':
      return {
        value: {
          valueOf() {
            go();
            return 1;
          },
          toString() {
            go();
            return '127.0.0.1:1';
          },
          [Symbol.toPrimitive]() {
            go();
            return 1;
          },
        },
      };
    case 'getterView': {
      const a = arena(64);
      ctx.inPlay.push(a.arena.buffer);
      for (const k of ['length', 'byteLength', 'byteOffset', 'buffer']) {
        const real = Reflect.get(Uint8Array.prototype, k, a.view) as unknown;
        Object.defineProperty(a.view, k, {
          get() {
            go();
            return real;
          },
        });
      }
      return { value: a.view, trueSize: 64, arena: a.arena, tail: 64 };
    }
    case 'proxyView': {
      const a = arena(64);
      ctx.inPlay.push(a.arena.buffer);
      return {
        value: new Proxy(a.view, {
          get(t, k) {
            go();
            return Reflect.get(t, k);
          },
        }),
        arena: a.arena,
        tail: 64,
      };
    }
    case 'addrGetters':
      return {
        value: {
          get address() {
            go();
            return '127.0.0.1';
          },
          get port() {
            go();
            return ctx.udpPort;
          },
          get family() {
            go();
            return 'ipv4';
          },
          get scopeId() {
            go();
            return 0;
          },
          get flowinfo() {
            go();
            return 0;
          },
        },
      };
    case 'arrayIndex': {
      const a = arena(64);
      ctx.inPlay.push(a.arena.buffer);
      const arr: unknown[] = [a.view, a.view];
      Object.defineProperty(arr, 1, {
        get() {
          go();
          return a.view;
        },
      });
      return { value: arr, arena: a.arena, tail: 64 };
    }
    case 'iterable': {
      const a = arena(64);
      ctx.inPlay.push(a.arena.buffer);
      return {
        value: {
          *[Symbol.iterator]() {
            yield a.view;
            go();
            yield 'SIGUSR2';
          },
        },
        arena: a.arena,
        tail: 64,
      };
    }
    case 'lengthGetterArray': {
      const a = arena(64);
      ctx.inPlay.push(a.arena.buffer);
      const arr = [a.view];
      return {
        value: new Proxy(arr, {
          get(t, k) {
            if (k === 'length') go();
            return Reflect.get(t, k);
          },
        }),
        arena: a.arena,
        tail: 64,
      };
    }
    default:
      throw new Error(`no shape ${shape}`);
  }
}

// ---- prototype patches, installed for one call ---------------------------------------------------

const TA = Object.getPrototypeOf(Uint8Array.prototype) as object;
type Patchable = [string, object, PropertyKey];
const everyPatch: Patchable[] = [
  ...[
    'writeUInt32LE',
    'writeBigUInt64LE',
    'writeUInt16LE',
    'writeUInt16BE',
    'fill',
    'copy',
    'readUInt32LE',
    'subarray',
    'toString',
    'equals',
  ].map((k): [string, object, PropertyKey] => [`Buffer.prototype.${k}`, Buffer.prototype, k]),
  ...['set', 'subarray', 'fill', 'length', 'byteLength', 'byteOffset', 'buffer', 'slice', 'includes'].map(
    (k): [string, object, PropertyKey] => [`%TypedArray%.prototype.${k}`, TA, k],
  ),
  ...['setUint32', 'getUint32', 'setUint16', 'setBigUint64', 'byteLength', 'byteOffset'].map((k): [string, object, PropertyKey] => [
    `DataView.prototype.${k}`,
    DataView.prototype,
    k,
  ]),
  ...['byteLength', 'resizable', 'detached', 'slice', 'resize', 'transfer'].map((k): [string, object, PropertyKey] => [
    `ArrayBuffer.prototype.${k}`,
    ArrayBuffer.prototype,
    k,
  ]),
  ...[Symbol.iterator, 'push', 'includes', 'map', 'splice', 'indexOf', 'join', 'slice'].map((k): [string, object, PropertyKey] => [
    `Array.prototype.${String(k)}`,
    Array.prototype,
    k,
  ]),
  ...['defineProperty', 'freeze', 'keys', 'hasOwn', 'getPrototypeOf', 'assign'].map((k): [string, object, PropertyKey] => [
    `Object.${k}`,
    Object,
    k,
  ]),
  ['BigInt', globalThis, 'BigInt'],
  ['BigInt.prototype.toString', BigInt.prototype, 'toString'],
  ['BigInt.asUintN', BigInt, 'asUintN'],
];
const patchable = everyPatch.filter(([, obj, key]) => Object.getOwnPropertyDescriptor(obj, key)); // what this Node has
type Patch = { at: number; mode: 'throw' | 'lie' | 'act'; action: number };
const patchArb: fc.Arbitrary<Patch | null> = fc.option(
  fc.record({ at: fc.nat(patchable.length - 1), mode: fc.constantFrom('throw', 'lie', 'act'), action: fc.nat(ACTIONS - 1) }),
  { freq: 3 },
);

const define = Object.defineProperty; // the undo must not run a patched one
/** Installs `p` and returns the undo. Getters stay getters; methods stay functions. */
function install(p: Patch, ctx: Fixtures): () => void {
  const [, obj, key] = patchable[p.at]!;
  const desc = Object.getOwnPropertyDescriptor(obj, key)!;
  const orig = desc.get ?? (desc.value as (...a: unknown[]) => unknown);
  const wrapped = function (this: unknown, ...args: unknown[]) {
    if (p.mode === 'throw') throw new Boom(`patched ${String(key)}`);
    if (p.mode === 'act') act(p.action, ctx);
    const real = Reflect.apply(orig, this, args) as unknown;
    if (p.mode === 'lie') return typeof real === 'number' ? 1 << 24 : typeof real === 'boolean' ? !real : real;
    return real;
  };
  define(obj, key, desc.get ? { ...desc, get: wrapped } : { ...desc, value: wrapped });
  return () => define(obj, key, desc);
}

function make(r: Recipe, ctx: Fixtures): Made {
  const n = r.n;
  if (r.kind === 'sabotage') return sabotage(r.x as string, n, ctx);
  switch (r.kind) {
    case 'plain': {
      const a = arena(n);
      return { value: a.view, trueSize: n, arena: a.arena, tail: n };
    }
    case 'offsetView': {
      const a = arena(n + 8);
      const v = a.arena.subarray(8, 8 + n);
      return { value: v, trueSize: n, arena: a.arena, tail: n + 8 };
    }
    case 'lyingLength': {
      const a = arena(n);
      Object.defineProperty(a.view, 'length', { value: 16 << 20 });
      return { value: a.view, trueSize: n, arena: a.arena, tail: n };
    }
    case 'lyingByteLength': {
      const a = arena(n);
      Object.defineProperty(a.view, 'byteLength', { value: 1 << 30 });
      Object.defineProperty(a.view, 'byteOffset', { value: -8 });
      return { value: a.view, trueSize: n, arena: a.arena, tail: n };
    }
    case 'subclassLiar': {
      class Liar extends Uint8Array {
        override get length() {
          return 1 << 24;
        }
        override get byteLength() {
          return 1 << 24;
        }
        override get buffer(): ArrayBuffer {
          throw new Boom('buffer');
        }
        static get [Symbol.species]() {
          throw new Boom('species');
        }
      }
      const ab = new ArrayBuffer(n + 64);
      new Uint8Array(ab).fill(CANARY);
      return { value: new Liar(ab, 0, n), trueSize: n, arena: new Uint8Array(ab), tail: n };
    }
    case 'throwingGetters': {
      const a = arena(n);
      for (const k of ['length', 'byteLength', 'byteOffset', 'buffer'])
        Object.defineProperty(a.view, k, {
          get() {
            throw new Boom(k);
          },
        });
      return { value: a.view, trueSize: n, arena: a.arena, tail: n };
    }
    case 'proxy': {
      const a = arena(n);
      return {
        value: new Proxy(a.view, {
          get(t, k) {
            if (k === 'length' || k === 'byteLength') return 1 << 24;
            return Reflect.get(t, k);
          },
        }),
        arena: a.arena,
        tail: n,
      };
    }
    case 'detached': {
      const ab = new ArrayBuffer(n + 8);
      const v = new Uint8Array(ab, 0, n);
      structuredClone(ab, { transfer: [ab] });
      return { value: v, trueSize: 0 };
    }
    case 'shared': {
      const a = arena(n, true);
      return { value: a.view, trueSize: n, arena: a.arena, tail: n };
    }
    case 'resizable': {
      const ab = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(n, { maxByteLength: n + 64 });
      return { value: new Uint8Array(ab), trueSize: n };
    }
    case 'dataView': {
      const a = arena(n);
      return { value: new DataView(a.arena.buffer, 0, n), trueSize: n, arena: a.arena, tail: n };
    }
    case 'int32': {
      const ab = new ArrayBuffer(n * 4 + 64);
      new Uint8Array(ab).fill(CANARY);
      return { value: new Int32Array(ab, 0, n), trueSize: n * 4, arena: new Uint8Array(ab), tail: n * 4 };
    }
    case 'float64': {
      const ab = new ArrayBuffer(n * 8 + 64);
      new Uint8Array(ab).fill(CANARY);
      return { value: new Float64Array(ab, 0, n), trueSize: n * 8, arena: new Uint8Array(ab), tail: n * 8 };
    }
    case 'buffer': {
      const b = Buffer.alloc(n + 64, CANARY);
      return { value: b.subarray(0, n), trueSize: n, arena: b, tail: n };
    }
    case 'number':
    case 'primitive':
      return { value: r.x };
    case 'symbol':
      return { value: Symbol('hostile') };
    case 'object':
      return { value: { length: 1 << 24, byteLength: 1 << 24, fd: 1, token: 1 } };
    case 'array':
      return { value: [1, 2, 3] };
    case 'arrayOfBuffers': {
      const a = arena(n);
      const b = arena(n);
      Object.defineProperty(a.view, 'length', { value: 1 << 24 });
      return { value: [a.view, b.view], trueSize: 2 * n, arena: a.arena, tail: n };
    }
    case 'arrayWithJunk': {
      const a = arena(n);
      return { value: [a.view, 'junk', null], arena: a.arena, tail: n };
    }
    case 'proxyArray': {
      const a = arena(n);
      return {
        value: new Proxy([a.view], {
          get(t, k) {
            if (k === 'length') return 1 << 20;
            return Reflect.get(t, k);
          },
        }),
        arena: a.arena,
        tail: n,
      };
    }
    case 'function':
      return { value: () => 1 };
    case 'throwingObject':
      return {
        value: Object.defineProperties(
          {},
          Object.fromEntries(
            ['address', 'port', 'fd', 'type', 'kind', 'length', 'then', 'register', 'aborted'].map((k) => [
              k,
              {
                get() {
                  throw new Boom(k);
                },
                enumerable: true,
              },
            ]),
          ),
        ),
      };
    case 'throwingProxy':
      return {
        value: new Proxy(
          {},
          {
            get() {
              throw new Boom('get');
            },
            getPrototypeOf() {
              throw new Boom('proto');
            },
            has() {
              throw new Boom('has');
            },
            ownKeys() {
              throw new Boom('keys');
            },
            getOwnPropertyDescriptor() {
              throw new Boom('desc');
            },
          },
        ),
      };
    case 'closedStream': {
      const s = UdpSocket.bind('127.0.0.1:0');
      s.close();
      return { value: s };
    }
    case 'events':
      return { value: new Events(1 + (n % 8)) };
    case 'peer':
      return { value: n % 2 ? new PeerAddress() : new PeerAddress(ctx.udp.localAddr()) };
    case 'fakePeer':
      return { value: n % 2 ? Object.create(PeerAddress.prototype) : { bytes: Buffer.alloc(1), len: 1 << 20 } };
    case 'batch':
      return { value: new DatagramBatch(1 + (n % 4), 1 + n) };
    case 'fakeBatch':
      return { value: Object.create(DatagramBatch.prototype) };
    case 'fakeEvents': {
      class Big extends Events {
        override get capacity() {
          return 1 << 20;
        }
      }
      return { value: n % 2 ? new Big(1) : Object.create(Events.prototype) };
    }
    case 'registry':
      return { value: ctx.poll.registry() };
    case 'fakeRegistry':
      return { value: Object.create(Registry.prototype) };
    case 'abortSignal':
      return { value: n % 2 ? AbortSignal.abort() : new AbortController().signal };
    case 'loopbackAddr':
      return { value: n % 2 ? '127.0.0.1:0' : { address: '127.0.0.1', port: n } };
    case 'addrObject':
      return { value: { address: n % 2 ? '127.0.0.1' : '::1', port: 2 ** 40, flowinfo: -1, scopeId: 2 ** 33 } };
    default:
      throw new Error(`no recipe ${r.kind}`);
  }
}

// ---- what is called ----------------------------------------------------------------------------

interface Fixtures {
  inPlay: (ArrayBuffer | SharedArrayBuffer)[];
  moved: Uint8Array[];
  udpPort: number;
  poll: Poll;
  events: Events;
  waker: Waker;
  tcp: ReturnType<typeof tcpPair>;
  udp: UdpSocket;
  udpPeer: string;
  udpPeerAddr: PeerAddress;
  peer: PeerAddress;
  batch: DatagramBatch;
  pipe?: ReturnType<typeof pipe>;
  ustream?: [UnixStream, UnixStream];
  udgram?: [UnixDatagram, UnixDatagram];
}

function fixtures(): Fixtures {
  const poll = new Poll();
  const udp = UdpSocket.bind('127.0.0.1:0');
  return {
    inPlay: [],
    moved: [],
    udpPort: udp.localAddr().port,
    poll,
    events: new Events(8),
    waker: new Waker(poll.registry(), 99),
    tcp: tcpPair(),
    udp,
    udpPeer: `127.0.0.1:${udp.localAddr().port}`,
    udpPeerAddr: new PeerAddress(udp.localAddr()),
    peer: new PeerAddress(),
    batch: new DatagramBatch(4, 64),
    ...(unix ? { pipe: pipe(), ustream: UnixStream.pair(), udgram: UnixDatagram.pair() } : {}),
  };
}

function closeAll(f: Fixtures): void {
  for (const c of [
    f.tcp.client,
    f.tcp.server,
    f.tcp.listener,
    f.udp,
    ...(f.pipe ?? []),
    ...(f.ustream ?? []),
    ...(f.udgram ?? []),
    f.waker,
    f.poll,
  ])
    c.close();
}

/** obj[m](...a) without the spread (Array's iterator may be patched for the call). */
const apply = Reflect.apply;
function invoke(obj: unknown, m: string, a: unknown[]): unknown {
  return apply((obj as Record<string, (...x: unknown[]) => unknown>)[m]!, obj, a);
}
type Target = { name: string; call(f: Fixtures, a: unknown[]): unknown; transfer?: number; async?: boolean };
const streamMethods = [
  'read',
  'write',
  'peek',
  'readv',
  'writev',
  'register',
  'reregister',
  'deregister',
  'shutdown',
  'setNodelay',
  'setTtl',
  'tryIo',
  'takeError',
  'close',
];
const targets: Target[] = [
  ...streamMethods.map(
    (m): Target => ({
      name: `TcpStream.${m}`,
      call: (f, a) => invoke(f.tcp.server, m, a),
      transfer: ['read', 'write', 'peek', 'readv', 'writev'].includes(m) ? 0 : undefined,
    }),
  ),
  ...['read', 'write'].map((m): Target => ({ name: `TcpStream.${m} (client)`, call: (f, a) => invoke(f.tcp.client, m, a), transfer: 0 })),
  { name: 'TcpListener.accept', call: (f) => f.tcp.listener.accept() },
  ...['setRecvBufferSize', 'setSendBufferSize', 'setLinger', 'setKeepalive', 'setTcpKeepalive', 'setNodelay'].map(
    (m): Target => ({ name: `TcpStream.${m}`, call: (f, a) => invoke(f.tcp.client, m, a) }),
  ),
  { name: 'new Signals', call: (_f, a) => new Signals(a[0] as never) },
  { name: 'TcpListener.bind (options)', call: (_f, a) => TcpListener.bind('127.0.0.1:0', a[0] as never) },
  { name: 'UdpSocket.bind (options)', call: (_f, a) => UdpSocket.bind('127.0.0.1:0', a[0] as never) },
  { name: 'TcpStream.fromNodeSocket', call: (_f, a) => TcpStream.fromNodeSocket(a[0] as never) },
  { name: 'UdpSocket.fromNodeDgram', call: (_f, a) => UdpSocket.fromNodeDgram(a[0] as never) },
  { name: 'TcpListener.fromNodeServer', call: (_f, a) => TcpListener.fromNodeServer(a[0] as never) },
  { name: 'TcpListener.intoNodeServer', call: (f, a) => f.tcp.listener.intoNodeServer(a[0] as never) },
  {
    name: 'TcpListener.acceptShedAfter=',
    call: (f, a) => {
      f.tcp.listener.acceptShedAfter = a[0] as number;
    },
  },
  { name: 'TcpListener.setTtl', call: (f, a) => f.tcp.listener.setTtl(a[0] as number) },
  ...['recvFrom', 'peekFrom', 'send', 'recv', 'peek'].map(
    (m): Target => ({ name: `UdpSocket.${m}`, call: (f, a) => invoke(f.udp, m, a), transfer: 0 }),
  ),
  { name: 'UdpSocket.sendTo', call: (f, a) => f.udp.sendTo(a[0] as never, f.udpPeer, a[1] as never, a[2] as never), transfer: 0 },
  {
    name: 'UdpSocket.recvFromPeer',
    call: (f, a) => f.udp.recvFromPeer(a[0] as never, a[1] as never, a[2] as never, a[3] as never),
    transfer: 0,
  },
  {
    name: 'UdpSocket.recvFromPeer (peer)',
    call: (f, a) => f.udp.recvFromPeer(a[0] as never, f.peer, a[1] as never, a[2] as never),
    transfer: 0,
  },
  {
    name: 'UdpSocket.sendToPeer',
    call: (f, a) => f.udp.sendToPeer(a[0] as never, f.udpPeerAddr, a[1] as never, a[2] as never),
    transfer: 0,
  },
  { name: 'UdpSocket.sendToPeer (peer)', call: (f, a) => f.udp.sendToPeer(Buffer.from('x'), a[0] as never) },
  {
    name: 'UdpSocket.sendSegments',
    call: (f, a) => f.udp.sendSegments(a[0] as never, a[1] as never, f.udpPeerAddr, a[2] as never, a[3] as never),
    transfer: 0,
  },
  { name: 'UdpSocket.sendSegments (peer)', call: (f, a) => f.udp.sendSegments(Buffer.alloc(100), 10, a[0] as never) },
  { name: 'UdpSocket.recvMany', call: (f, a) => f.udp.recvMany(a[0] as never) },
  { name: 'UdpSocket.recvMany (batch)', call: (f) => f.udp.recvMany(f.batch) },
  { name: 'UdpSocket.sendMany', call: (f, a) => f.udp.sendMany(a[0] as never, a[1] as never) },
  { name: 'UdpSocket.sendMany (batch)', call: (f, a) => f.udp.sendMany(f.batch, a[0] as never) },
  { name: 'UdpSocket.sendMany (batch, start)', call: (f, a) => f.udp.sendMany(f.batch, a[0] as never, a[1] as never) },
  { name: 'UdpSocket.setGro', call: (f, a) => f.udp.setGro(a[0] as never) },
  { name: 'new DatagramBatch', call: (_f, a) => new DatagramBatch(a[0] as never, a[1] as never) },
  ...['setLength', 'slot', 'data', 'lengthOf', 'peer', 'truncated', 'segmentSize', 'offset'].map(
    (m): Target => ({ name: `DatagramBatch.${m}`, call: (f, a) => invoke(f.batch, m, a) }),
  ),
  { name: 'new PeerAddress', call: (_f, a) => new PeerAddress(typeof a[0] === 'string' ? '127.0.0.1:1' : (a[0] as never)) },
  ...['copyFrom', 'equals', 'set'].map(
    (m): Target => ({
      name: `PeerAddress.${m}`,
      call: (f, a) =>
        (f.peer as never as Record<string, (...x: unknown[]) => unknown>)[m]!(
          m === 'set' && typeof a[0] === 'string' ? '127.0.0.1:1' : a[0],
        ),
    }),
  ),
  { name: 'UdpSocket.sendTo (addr)', call: (f, a) => f.udp.sendTo(Buffer.from('x'), a[0] as never) },
  ...['setMulticastTtlV4', 'setBroadcast', 'setTtl', 'joinMulticastV6', 'joinMulticastV4'].map(
    (m): Target => ({ name: `UdpSocket.${m}`, call: (f, a) => invoke(f.udp, m, a) }),
  ),
  ...(unix
    ? ([
        ...['read'].map(
          (m): Target => ({
            name: `Receiver.${m}`,
            call: (f, a) => f.pipe![1].read(a[0] as never, a[1] as never, a[2] as never),
            transfer: 0,
          }),
        ),
        { name: 'Sender.write', call: (f, a) => f.pipe![0].write(a[0] as never, a[1] as never, a[2] as never), transfer: 0 },
        { name: 'Sender.setNonblocking', call: (f, a) => f.pipe![0].setNonblocking(a[0] as never) },
        ...['read', 'write', 'peek', 'readv', 'writev'].map(
          (m): Target => ({ name: `UnixStream.${m}`, call: (f, a) => invoke(f.ustream![0], m, a), transfer: 0 }),
        ),
        ...['send', 'recv', 'recvFrom'].map(
          (m): Target => ({ name: `UnixDatagram.${m}`, call: (f, a) => invoke(f.udgram![1], m, a), transfer: 0 }),
        ),
        { name: 'new SourceFd', call: (_f, a) => new SourceFd(a[0] as number) },
      ] as Target[])
    : []),
  {
    name: 'Poll.poll',
    call: (f, a) => {
      f.waker.wake();
      return f.poll.poll(a[0] as Events, a[1] as number);
    },
  },
  {
    name: 'Poll.pollAsync',
    call: (f, a) => {
      f.waker.wake();
      return f.poll.pollAsync(a[0] as Events, a[1] as number, a[2] as AbortSignal);
    },
    async: true,
  },
  { name: 'Registry.register', call: (f, a) => f.poll.registry().register(a[0] as never, a[1] as number, a[2] as number) },
  { name: 'Registry.register (stream)', call: (f, a) => f.poll.registry().register(f.tcp.server, a[0] as number, a[1] as number) },
  { name: 'Registry.reregister', call: (f, a) => f.poll.registry().reregister(f.tcp.server, a[0] as number, a[1] as number) },
  { name: 'Registry.deregister', call: (f, a) => f.poll.registry().deregister(a[0] as never) },
  { name: 'new Waker', call: (_f, a) => new Waker(a[0] as Registry, a[1] as number) },
  { name: 'Waker.fromHandle', call: (_f, a) => Waker.fromHandle(a[0] as never) },
  {
    name: 'Waker.fromHandle (mutated)',
    call: (f, a) =>
      Waker.fromHandle({
        ...f.waker.handle,
        [['fd', 'token', 'slot', 'nonce', 'kind', 'backend', 'ident'][typeof a[1] === 'number' ? Math.abs(a[1] | 0) % 7 : 0]!]: a[0],
      } as never),
  },
  { name: 'new Events', call: (_f, a) => new Events(a[0] as number) },
  { name: 'Events.get', call: (f, a) => f.events.get(a[0] as number) },
  ...['add', 'remove', 'format', 'isReadable'].map((m): Target => ({ name: `Interest.${m}`, call: (_f, a) => invoke(Interest, m, a) })),
  { name: 'TcpListener.bind', call: (_f, a) => TcpListener.bind(a[0] as never) },
  { name: 'UdpSocket.bind', call: (_f, a) => UdpSocket.bind(a[0] as never) },
  { name: 'TcpStream.connect', call: (_f, a) => TcpStream.connect(typeof a[0] === 'string' ? '127.0.0.1:1' : (a[0] as never)) },
  {
    name: 'sys.pinnedBuffer',
    call: (_f, a) => {
      const n = a[0];
      if (typeof n === 'number' && n > 1 << 20) return null;
      return sys.pinnedBuffer(n as number);
    },
  },
  { name: 'sys.addressOf', call: (_f, a) => sys.addressOf(a[0] as never) },
];

/** Reads whatever the fixtures' peers have (non-blocking) and returns a byte no buffer held, or null. */
function drainPeers(f: Fixtures): number | null {
  const buf = Buffer.alloc(65536);
  const ends = [f.tcp.client, f.tcp.server, f.udp, f.pipe?.[1], f.ustream?.[0], f.ustream?.[1], f.udgram?.[0], f.udgram?.[1]];
  for (const end of ends) {
    if (!end) continue;
    for (let i = 0; i < 64; i++) {
      let n: number;
      try {
        n =
          (end as { read?: (b: Buffer) => number; recv: (b: Buffer) => number }).read?.(buf) ??
          (end as { recv: (b: Buffer) => number }).recv(buf);
      } catch {
        break;
      }
      if (!n) break;
      for (let j = 0; j < n; j++) if (!WRITTEN.has(buf[j]!)) return buf[j]!;
    }
  }
  return null;
}

// Only loopback is ever a target: connect() gets '127.0.0.1:1' for any string, bind() only binds.
function loopbackOnly(a: unknown[]): boolean {
  return a.every((v) => typeof v !== 'string' || !/^[\d.:[\]a-f]+$/i.test(v) || /^(127\.|\[?::1\]?|0\.0\.0\.0|\[?::\]?)/.test(v));
}

function acceptable(e: unknown): string | null {
  if (e instanceof Boom) return null;
  if (
    (e instanceof TypeError || e instanceof RangeError) &&
    typeof (e as { code?: unknown }).code === 'string' &&
    /^ERR_/.test((e as unknown as { code: string }).code)
  )
    return null;
  const s = e as { code?: unknown; errno?: unknown; syscall?: unknown };
  if (e instanceof Error && typeof s.code === 'string' && typeof s.errno === 'number' && typeof s.syscall === 'string') return null;
  if (e instanceof Error && typeof s.code === 'string' && /^ERR_METAL_IO_/.test(s.code)) return null;
  return `${(e as Error)?.constructor?.name}: ${(e as Error)?.message} (code ${String(s?.code)})`;
}

/** Closes whatever a call returned that owns an fd (accepted streams, new listeners, node:net objects). */
function release(r: unknown): void {
  if (r && typeof r === 'object') {
    if (Array.isArray(r)) {
      for (const x of r) release(x);
      return;
    }
    if (r instanceof NodeSocket) {
      r.destroy();
      return;
    }
    const c = (r as { close?: unknown }).close;
    if (typeof c === 'function' && !(r instanceof Registry)) (c as () => void).call(r);
  }
}

test(`every public method survives hostile values (${RUNS} runs, seed ${SEED})`, async () => {
  TcpListener.bind('127.0.0.1:0').close(); // the process-wide spare fd exists before we count
  const before = openFds();
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.nat(targets.length - 1), fc.array(recipe, { maxLength: 4 }), patchArb, async (which, recipes, patch) => {
      const t = targets[which]!;
      const pre = eachRun ? openFds() : null;
      const f = fixtures();
      try {
        const made = recipes.map((r) => make(r, f));
        for (const m of made) if (m.arena) f.inPlay.push(m.arena.buffer);
        const args = made.map((m) => m.value);
        if (!loopbackOnly(args)) return;
        seed(f);
        let result: unknown;
        const what = () =>
          `${t.name}(${recipes.map((r) => (r.kind === 'sabotage' ? `sabotage ${String(r.x)}/${r.n}` : r.kind)).join(', ')})${patch ? ` with ${patchable[patch.at]![0]} patched to ${patch.mode}${patch.mode === 'act' ? ` ${patch.action}` : ''}` : ''}`;
        try {
          const undo = patch ? install(patch, f) : null;
          try {
            result = t.call(f, args);
          } finally {
            undo?.();
          }
          if (t.async || result instanceof Promise)
            result = await Promise.race([result, new Promise((r) => setTimeout(() => r('pending'), 2000))]);
        } catch (e) {
          const why = acceptable(e);
          if (why) throw new Error(`${what()} threw ${why}`);
        }
        // Nothing was written into memory after it was taken away from the caller's buffer.
        for (const m of f.moved)
          if (!m.every((b) => b === CANARY)) throw new Error(`${what()}: wrote into a buffer's memory after it was transferred away`);
        // Every byte on the wire is one the test wrote.
        const foreign = drainPeers(f);
        if (foreign) throw new Error(`${what()}: a peer received byte 0x${foreign.toString(16)}, which no buffer held`);
        seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
        // Nothing written past any buffer; no transfer reports more than the buffer really has.
        for (const [i, m] of made.entries()) {
          if (m.arena?.buffer.byteLength)
            assert.ok(
              m.arena.subarray(m.tail!).every((b) => b === CANARY),
              `${what()}: bytes written past argument ${i}`,
            );
        }
        if (t.transfer !== undefined && typeof result === 'number') {
          const cap = made[0]?.trueSize;
          if (cap !== undefined) assert.ok(result <= cap, `${t.name}(${recipes[0]!.kind}) moved ${result} bytes of a ${cap}-byte buffer`);
        }
        if (Array.isArray(result) && typeof result[0] === 'number' && made[0]?.trueSize !== undefined)
          assert.ok(result[0] <= made[0].trueSize!, `${t.name}: datagram count`);
        release(result);
      } finally {
        closeAll(f);
      }
      if (pre) {
        // (after a failure above, that failure is the report)
        const post = openFds()!; // (each listing holds one fd of its own, the lowest free one)
        const left = [...post].filter((fd) => !pre.has(fd));
        if (post.size > pre.size)
          throw new Error(
            `${t.name}(${recipes.map((r) => r.kind).join(', ')}) ${patch ? `patch ${patchable[patch.at]![0]} ${patch.mode}` : ''} left fds ${left}`,
          );
      }
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
  );
  assert.ok(seen.size > targets.length / 2, `most targets were exercised (${seen.size} of ${targets.length})`);
  if (before) assert.equal(await leakedSince(before), [], 'no fd leaked');
  else console.log(`  (fd leak check skipped: no /proc/self/fd on ${process.platform}-${process.arch})`);
});

/** Some bytes for reads to find, from every fixture's peer. */
function seed(f: Fixtures): void {
  f.tcp.client.write(Buffer.alloc(128, 1));
  f.udp.sendTo(Buffer.alloc(32, 2), f.udpPeer);
  f.pipe?.[0].write(Buffer.alloc(64, 3));
  f.ustream?.[1].write(Buffer.alloc(64, 4));
  f.udgram?.[0].send(Buffer.alloc(16, 5));
}

/**
 * One attack on fresh fixtures: `args` makes the arguments (their buffers in play), `patch` is
 * installed for the call. Fails unless the call returns or throws acceptably, writes nothing past a
 * buffer or into memory taken away, and puts no foreign byte on the wire.
 */
async function attack(t: Target, what: string, args: (f: Fixtures) => Made[], patch: Patch | null): Promise<void> {
  if (process.env.METAL_IO_FUZZ_TRACE) appendFileSync(process.env.METAL_IO_FUZZ_TRACE, `${what}\n`); // which call, when one kills the process
  const f = fixtures();
  try {
    const made = args(f);
    for (const m of made) if (m.arena && !f.inPlay.includes(m.arena.buffer)) f.inPlay.push(m.arena.buffer);
    seed(f);
    let result: unknown;
    try {
      const undo = patch ? install(patch, f) : null;
      try {
        result = t.call(
          f,
          made.map((m) => m.value),
        );
      } finally {
        undo?.();
      }
      if (t.async || result instanceof Promise)
        result = await Promise.race([result, new Promise((r) => setTimeout(() => r('pending'), 2000))]);
    } catch (e) {
      const why = acceptable(e);
      if (why) throw new Error(`${what} threw ${why}`);
    }
    for (const m of f.moved)
      if (!m.every((b) => b === CANARY)) throw new Error(`${what}: wrote into a buffer's memory after it was transferred away`);
    const foreign = drainPeers(f);
    if (foreign) throw new Error(`${what}: a peer received byte 0x${foreign.toString(16)}, which no buffer held`);
    for (const m of made)
      if (m.arena?.buffer.byteLength)
        assert.ok(
          m.arena.subarray(m.tail!).every((b) => b === CANARY),
          `${what}: bytes written past a buffer`,
        );
    release(result);
  } finally {
    closeAll(f);
  }
}

/** A plain 64-byte buffer in a canary arena. */
function plain64(): Made {
  const a = arena(64);
  return { value: a.view, trueSize: 64, arena: a.arena, tail: 64 };
}

// Exhaustive, not sampled: for every method and every argument position, each hostile shape takes
// every buffer away, or closes every object, at its first or second read.
test('mid-call: every method, every argument position, every shape, first or second read', async () => {
  const before = openFds();
  let calls = 0;
  for (const t of targets) {
    for (let pos = 0; pos < 3; pos++) {
      for (const shape of shapes) {
        for (const action of [MEMORY, STATE]) {
          for (const at of [1, 2]) {
            const what = `${t.name} with a ${shape} at argument ${pos} (${action === MEMORY ? 'takes memory' : 'closes objects'} at read ${at})`;
            await attack(
              t,
              what,
              (f) =>
                [0, 1, 2]
                  .slice(0, pos + 1)
                  .map((i) => (i === pos ? sabotage(shape, action + ACTIONS * (at - 1), f) : i === 0 ? plain64() : { value: undefined })),
              null,
            );
            calls++;
          }
        }
      }
    }
  }
  assert.ok(calls > targets.length * 3 * shapes.length, `${calls} calls made`);
  if (before) assert.equal(await leakedSince(before), [], 'no fd leaked');
});

// Exhaustive over the patches: every method that moves bytes, with each builtin patched to throw,
// to lie, or to take every buffer away before doing its real work (a patched builtin the library
// called between measuring a buffer and the system call would hand the kernel freed memory).
test('patched builtins: every byte-moving method, every patch, throwing, lying or taking memory away', async () => {
  const before = openFds();
  let calls = 0;
  for (const t of targets.filter((x) => x.transfer !== undefined || /send|recv|Many|Segments/.test(x.name))) {
    const vectored = /(readv|writev)$/.test(t.name);
    for (let at = 0; at < patchable.length; at++) {
      for (const mode of ['throw', 'lie', 'act'] as const) {
        const what = `${t.name} with ${patchable[at]![0]} patched to ${mode === 'act' ? 'take memory away' : mode}`;
        await attack(
          t,
          what,
          () => {
            const m = plain64();
            return [vectored ? { ...m, value: [m.value, m.value] } : m];
          },
          { at, mode, action: MEMORY },
        );
        calls++;
      }
    }
  }
  assert.ok(calls > patchable.length * 3 * 10, `${calls} calls made`);
  if (before) assert.equal(await leakedSince(before), [], 'no fd leaked');
});

// Workers holding resources (a Poll and Waker, TCP, UDP with a batch, Signals), spinning through
// I/O, idle, or waiting in pollAsync, terminated at any moment: the process stays whole, and this thread's own objects,
// Signals included, keep working.
test(`worker termination at any moment leaves the process whole (${TERMINATIONS} runs)`, async () => {
  const kinds = fc.subarray(['tcp', 'udp', ...(unix ? ['signals'] : [])]);
  await fc.assert(
    fc.asyncProperty(kinds, fc.constantFrom('spin', 'idle', 'wait'), fc.nat(40), async (held, mode, delayMs) => {
      const w = new Worker(new URL('./_util/hold-worker.mjs', import.meta.url), {
        workerData: { kinds: held, spin: mode === 'spin', wait: mode === 'wait' },
      });
      await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      await new Promise((r) => setTimeout(r, delayMs));
      await w.terminate();
    }),
    { seed: SEED, numRuns: TERMINATIONS, endOnFailure: true, includeErrorInReport: true },
  );
  const poll = new Poll();
  const events = new Events(8);
  const p = tcpPair();
  try {
    p.client.write(Buffer.from('still here'));
    poll.registry().register(p.server, 1, Interest.READABLE);
    poll.poll(events, 2000);
    const got = Buffer.alloc(32);
    assert.is(got.subarray(0, p.server.read(got) ?? 0).toString(), 'still here');
    if (unix) {
      const s = new Signals(['SIGUSR2']);
      try {
        poll.registry().register(s, 2, Interest.READABLE);
        process.kill(process.pid, 'SIGUSR2');
        const deadline = Date.now() + 2000;
        let caught: string[] = [];
        while (!caught.length && Date.now() < deadline) {
          poll.poll(events, 100);
          caught = s.pending();
        }
        assert.equal(caught, ['SIGUSR2']);
      } finally {
        s.close();
      }
    }
  } finally {
    p.close();
    poll.close();
  }
});

// Forged and foreign receivers, exhaustively: every method and accessor of every exported class
// (its own and those it inherits), called with a `this` that is not one of its instances: a plain
// object, an object made from its prototype, such an object carrying a copy of a real instance's
// properties and a fake `io`/`fd`/`bytes`/`kind` naming a real connected socket, a Proxy of a real
// instance, the prototype itself, a primitive. Each throws ERR_INVALID_THIS before doing
// anything: the fake is never consulted and no byte reaches the real socket's peer. Then real
// instances with such properties added: their calls still use their own fd only.
test('a forged or foreign this: every method of every class throws ERR_INVALID_THIS, no fd is reached', async () => {
  const api = {
    ...(await import('../src/index.js')),
    ...(await import('../src/net.js')),
    ...(unix ? await import('../src/unix.js') : {}),
  } as Record<string, unknown>;
  const f = fixtures();
  try {
    const victim = f.tcp.client; // a fake names its fd: anything sent there reaches f.tcp.server
    let consulted = 0;
    const fakeIo = new Proxy(
      {},
      {
        get: () => {
          consulted++;
          return () => victim.fd;
        },
      },
    );
    const real: Record<string, object> = {
      Poll: f.poll,
      Events: f.events,
      Waker: f.waker,
      TcpStream: f.tcp.server,
      TcpListener: f.tcp.listener,
      UdpSocket: f.udp,
      PeerAddress: f.peer,
      DatagramBatch: f.batch,
      Registry: f.poll.registry(),
    };
    let calls = 0;
    for (const [name, C] of Object.entries(api)) {
      if (
        typeof C !== 'function' ||
        typeof C.prototype !== 'object' ||
        C.prototype === null ||
        Object.getOwnPropertyNames(C.prototype).length < 2
      )
        continue;
      const proto = C.prototype as object;
      const inst = real[name];
      const forged = (): object[] => [
        {},
        Object.create(proto),
        Object.create(
          proto,
          Object.fromEntries(
            Object.entries({ io: fakeIo, fd: victim.fd, bytes: Buffer.from('/tmp/x'), kind: 'pathname', sink: fakeIo }).map(
              ([k, value]) => [k, { value }],
            ),
          ),
        ),
        ...(inst ? [new Proxy(inst, {}), Object.create(proto, Object.getOwnPropertyDescriptors(inst))] : []),
        proto,
      ];
      const members = new Map<string | symbol, PropertyDescriptor>();
      for (let q: object | null = proto; q && q !== Object.prototype; q = Object.getPrototypeOf(q)) {
        for (const k of Reflect.ownKeys(q))
          if (k !== 'constructor' && !members.has(k)) members.set(k, Object.getOwnPropertyDescriptor(q, k)!);
      }
      for (const [key, d] of members) {
        for (const fn of [d.value, d.get, d.set]) {
          if (typeof fn !== 'function') continue;
          for (const self of [...forged(), 7, 'x', undefined]) {
            calls++;
            let err: unknown = null;
            try {
              const r = Reflect.apply(fn as Function, self, [Buffer.from('FORGED'), '127.0.0.1:1', 0, 6]);
              if (r instanceof Promise)
                await r.catch((e) => {
                  err = e;
                });
              else err = 'returned';
            } catch (e) {
              err = e;
            }
            const code = (err as { code?: unknown } | null)?.code;
            assert.ok(
              err instanceof TypeError && code === 'ERR_INVALID_THIS',
              `${name}.${String(key)} on a forged this: ${err instanceof Error ? `${err.constructor.name} ${String(code)} ${err.message}` : String(err)}`,
            );
          }
        }
      }
    }
    assert.ok(calls > 1000, `${calls} calls made`);
    assert.is(consulted, 0, 'no fake io was consulted');
    // Real instances with look-alike properties added: the properties change nothing.
    const client = f.tcp.client;
    for (const k of ['io', 'fd', 'sink']) {
      try {
        Object.defineProperty(f.tcp.server, k, { value: fakeIo, configurable: true });
      } catch {
        /* a getter-only accessor refuses */
      }
    }
    assert.is(f.tcp.server.write(Buffer.from('own')), 3);
    const got = Buffer.alloc(16);
    const until = Date.now() + 2000;
    let n: number | null = null;
    while ((n = client.read(got)) === null && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.is(got.subarray(0, n ?? 0).toString(), 'own', 'the bytes went to its own peer');
    assert.is(consulted, 0, 'no fake io was consulted by a real instance');
    assert.is(drainPeers(f), null, 'no forged byte reached any peer');
  } finally {
    closeAll(f);
  }
});

test('intoRawFd hands the fd over, open; the object is closed', () => {
  const s = UdpSocket.bind('127.0.0.1:0');
  const fd = s.intoRawFd();
  assert.throws(
    () => s.intoRawFd(),
    (e: { code?: string }) => e.code === 'EBADF',
  );
  assert.throws(
    () => s.recv(Buffer.alloc(1)),
    (e: { code?: string }) => e.code === 'EBADF',
  );
  if (process.platform === 'win32') {
    UdpSocket.fromFd(fd).close();
    return;
  }
  closeSync(fd); // still open: closing it here works
});

test.run();
