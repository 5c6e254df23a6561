// Binds a generated module's functions through koffi, lazily: a library is loaded on the first call
// of one of its functions, never at import.
import type { LibraryHandle, TypeObject } from 'koffi';
import type { FunctionName, SysCalls, SysModule } from '../../generated/types.js';
import { koffi } from './koffi.js';
import { unsupportedError } from './unsupported.js';

/** A target's shared library could not be loaded (the message lists every file tried). */
export class LibraryLoadError extends Error {
  /** Always 'ERR_METAL_IO_LIBRARY'. */
  readonly code = 'ERR_METAL_IO_LIBRARY';
  /** An error saying what was tried and why it failed. */
  constructor(message: string) {
    super(message);
    this.name = 'LibraryLoadError';
  }
}

export interface Binder {
  /** The koffi function for `name`, bound on first use. Throws a clear error if the target lacks it. */
  fn<K extends FunctionName>(name: K): SysCalls[K];
  /** Whether the target declares `name` and, for optional functions, the library exports it. */
  has(name: FunctionName): boolean;
  /** The address of `name`'s code, for C that takes a function pointer (a thread-exit destructor). */
  address(name: FunctionName): bigint;
}

/** Binds `mod`'s functions through koffi, each on first use (libraries load on the first call that needs them). */
export function createBinder(mod: SysModule, env: NodeJS.ProcessEnv = process.env): Binder {
  // Null-prototype records, not Maps: a lookup on every call runs no method a caller could patch
  // (Map.prototype.get), between measuring a buffer and the call it is for.
  const libs: Record<string, LibraryHandle> = Object.create(null);
  const fns: Record<string, unknown> = Object.create(null);
  const missing: Record<string, Error> = Object.create(null);

  const loadLib = (lib: string): LibraryHandle => {
    const have = libs[lib];
    if (have) return have;
    const candidates = mod.libraries[lib];
    if (!candidates) throw new LibraryLoadError(`metal-io: ${mod.target.name} has no library '${lib}'`);
    const tried: string[] = [];
    for (const c of candidates) {
      // `<self>` is the running program (dlopen(NULL)): Node's own exports, such as libuv's.
      const self = c === '<self>';
      const file = self ? c : c.startsWith('$') ? env[c.slice(1)] : c;
      if (!file) {
        tried.push(`${c} (unset)`);
        continue;
      }
      try {
        const handle = koffi.load(self ? null : file);
        libs[lib] = handle;
        return handle;
      } catch (e) {
        tried.push(`${file}: ${(e as Error).message}`);
      }
    }
    throw new LibraryLoadError(`metal-io: cannot load ${lib} on ${mod.target.name}; tried ${tried.join('; ')}`);
  };

  const bind = (name: FunctionName): unknown => {
    const done = fns[name];
    if (done) return done;
    const prior = missing[name];
    if (prior) throw prior;
    const info = mod.functions[name];
    if (!info) {
      const e = unsupportedError(`metal-io: ${name} is not available on ${mod.target.name}`);
      missing[name] = e;
      throw e;
    }
    try {
      let f = loadLib(info.lib).func(info.koffi) as unknown;
      if (env.METAL_IO_COUNT_CALLS === '1') f = counted(name, f as (...a: unknown[]) => unknown);
      fns[name] = f;
      return f;
    } catch (e) {
      if (e instanceof LibraryLoadError) throw e;
      const err = unsupportedError(
        `metal-io: cannot bind ${info.symbol} from ${info.lib} on ${mod.target.name}${info.optional ? ' (optional: this system lacks it)' : ''}: ${(e as Error).message}`,
      );
      missing[name] = err;
      throw err;
    }
  };

  return {
    fn: (name) => bind(name) as never,
    address(name) {
      bind(name); // the same checks and errors as a call
      const info = mod.functions[name]!;
      return loadLib(info.lib).symbol(info.symbol) as bigint;
    },
    has(name) {
      if (!mod.functions[name]) return false;
      try {
        bind(name);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Calls per function, counted when METAL_IO_COUNT_CALLS=1 (a measuring switch for bench/). */
export const callCounts = new Map<string, number>();
function counted(name: string, f: (...a: unknown[]) => unknown): unknown {
  callCounts.set(name, 0);
  const wrapped = (...args: unknown[]) => {
    callCounts.set(name, callCounts.get(name)! + 1);
    return f(...args);
  };
  return Object.assign(wrapped, { async: (f as unknown as { async: unknown }).async });
}

/** The errno value the last foreign call left (koffi saves it right after each call). */
export function errno(): number {
  return koffi.errno();
}

/**
 * A buffer whose memory never moves and can never be taken away: backed by a SharedArrayBuffer,
 * which V8 keeps off its heap and which no caller can detach, transfer (`structuredClone` with a
 * transfer list, `postMessage`) or resize. (A small `Buffer.alloc(n)`, n <= 64, lives on the V8 heap
 * and moves at the next GC; an ArrayBuffer can be transferred away and its memory freed while the
 * library still holds its address.) Use it for every buffer whose address is kept or that the
 * kernel holds.
 */
export function pinnedBuffer(size: number): Buffer {
  return asBuffer(new Uint8Array(new SharedArrayBuffer(size)));
}

// A Buffer made without Buffer.from, which reads the ArrayBuffer's `byteLength` through a getter a
// caller could patch: a plain Uint8Array given Buffer's prototype (what Buffer.from returns is a
// Uint8Array subclass with that prototype), with intrinsics captured at load.
const setPrototypeOf = Reflect.setPrototypeOf;
const BufferPrototype = Buffer.prototype;
function asBuffer(u8: Uint8Array): Buffer {
  setPrototypeOf(u8, BufferPrototype);
  return u8 as Buffer;
}

/** A pinnedBuffer of `size` bytes (rounded up to whole words) and its word view, made without a getter a caller could patch. */
export function pinnedWords(size: number): { bytes: Buffer; words: Uint32Array } {
  const sab = new SharedArrayBuffer((size + 3) & ~3);
  return { bytes: asBuffer(new Uint8Array(sab)), words: new Uint32Array(sab) };
}

/**
 * koffi.address() as a plain number (all user-space addresses fit in 2^53). Valid until the next GC
 * for small on-heap buffers: use at once, or use pinnedBuffer().
 */
export function addressOf(buf: ArrayBufferView | ArrayBuffer): number {
  return Number(koffi.address(buf as never));
}

// Encoders for what the kernel reads (iovecs, msghdrs): element writes into a Uint32Array, which
// run no JavaScript a caller can replace (no Buffer or DataView method, no BigInt), so nothing a
// caller patched can run between measuring memory and the system call.
const U32 = Uint32Array;
const floor = Math.floor;
/** 2^32: the weight of a 64-bit value's high word. */
const TWO32 = 4294967296;

// The one 32/64-bit rule: a non-negative integer below 2^53 (an address, a size, a token, an fd or
// handle) is its low and high 32-bit words; every 64-bit field the library reads or writes goes
// through these, whatever memory holds it (words, bytes or a DataView of library-owned memory).
/** The low 32-bit word of `v` (unsigned). */
export const lo32 = (v: number): number => v % TWO32;
/** The high 32-bit word of `v` (unsigned). */
export const hi32 = (v: number): number => floor(v / TWO32);
/** The number whose words are `lo` and `hi` (both read unsigned). */
export const join32 = (lo: number, hi: number): number => (hi >>> 0) * TWO32 + (lo >>> 0);

/** A pointer- or size_t-sized value (`size` 4 or 8) at byte `byte` of `w` (little-endian words). */
export function putWord(w: Uint32Array, byte: number, v: number, size: number): void {
  w[byte >>> 2] = lo32(v);
  if (size === 8) w[(byte >>> 2) + 1] = hi32(v);
}
/** The `size`-byte (4 or 8) unsigned value at byte `byte` of `w` (little-endian words). */
export function getWord(w: Uint32Array, byte: number, size: number): number {
  const i = byte >>> 2;
  return size === 8 ? join32(w[i]!, w[i + 1]!) : w[i]!;
}
/** The same, in a DataView of library-owned memory (kernel event records), little-endian. */
export function setViewWord(view: DataView, at: number, size: number, v: number): void {
  view.setUint32(at, lo32(v), true);
  if (size === 8) view.setUint32(at + 4, hi32(v), true);
}
export function getViewWord(view: DataView, at: number, size: number): number {
  return size === 8 ? join32(view.getUint32(at, true), view.getUint32(at + 4, true)) : view.getUint32(at, true);
}
// Byte-wise encoders for sockaddrs and option values: index writes and reads only, for the same reason.
/** `v` as `size` (1, 2, 4 or 8) bytes at `off` of `b`, big-endian (network order) or little-endian. */
export function putUint(b: Uint8Array, off: number, v: number, size: number, bigEndian: boolean): void {
  if (size === 8) {
    putUint(b, bigEndian ? off + 4 : off, lo32(v), 4, bigEndian);
    putUint(b, bigEndian ? off : off + 4, hi32(v), 4, bigEndian);
    return;
  }
  for (let i = 0; i < size; i++) b[bigEndian ? off + size - 1 - i : off + i] = (v >>> (8 * i)) & 0xff;
}
/** The unsigned `size`-byte integer at `off` of `b`. */
export function getUint(b: Uint8Array, off: number, size: number, bigEndian: boolean): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[bigEndian ? off + size - 1 - i : off + i]!;
  return v;
}
/** Zeroes bytes [from, to) of `b`. */
export function zeroBytes(b: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) b[i] = 0;
}
/** Copies `n` bytes of `src` (from 0) to `dst` at `off`. */
export function copyBytes(dst: Uint8Array, off: number, src: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) dst[off + i] = src[i]!;
}

/** A zeroed buffer of `size` bytes (rounded up to whole words) and the word view that encodes into it. */
export function wordBuffer(size: number): { bytes: Buffer; words: Uint32Array } {
  const ab = new ArrayBuffer(((size + 3) >>> 2) * 4);
  return { bytes: asBuffer(new Uint8Array(ab)), words: new U32(ab) };
}

const protos = new Map<string, TypeObject>();

/**
 * A C function pointer that calls `fn` (koffi.register), for callbacks C code makes synchronously,
 * on this thread, during a call from here. `proto` names the type: `void cb_name(int a)`.
 */
export function makeCallback(proto: string, fn: (...args: never[]) => unknown): bigint {
  let type = protos.get(proto);
  if (!type) {
    // koffi's named types are process-wide: a second copy of this module (a bundle that inlines
    // it twice) finds the prototype already declared and uses it.
    let p: TypeObject;
    try {
      p = koffi.proto(proto);
    } catch (e) {
      const name = /(\w+)\s*\(/.exec(proto)?.[1];
      if (!name) throw e;
      p = koffi.type(name);
    }
    type = koffi.pointer(p);
    protos.set(proto, type);
  }
  return koffi.register(fn as (...args: unknown[]) => unknown, type);
}

/** Frees a pointer from makeCallback (it must no longer be reachable from C). */
export function releaseCallback(cb: bigint): void {
  koffi.unregister(cb);
}
