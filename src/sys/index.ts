// metal-io/sys: the running target's generated system layer, for raw syscall access.
//
//   import sys, { constants, structs, errno } from 'metal-io/sys';
//   const ep = sys.epoll_create1(constants.EPOLL_CLOEXEC!);
//
// Functions keep their C names and koffi's conventions: integers in, integers out, -1 and errno()
// on failure. `hot` functions (see syscalls.yaml) take addresses (addressOf(buffer)) for koffi's fast
// call path; the caller keeps the buffer alive for the call. Importing this module loads no library.

import { types } from 'node:util';
import type { FunctionName, SysCalls, SysModule, TargetInfo } from '../../generated/types.js';
import { argTypeError, byteLength, validInteger } from '../validators.js';
import { errno, addressOf as rawAddressOf, pinnedBuffer as rawPinnedBuffer } from './ffi.js';
import { fn as boundFn, has as boundHas, mod } from './os.js';

export type {
  ConstantName,
  FieldInfo,
  FunctionName,
  StructInfo,
  StructName,
  SysCalls,
  SysModule,
  TargetInfo,
  TargetName,
} from '../../generated/types.js';
export { createBinder, LibraryLoadError } from './ffi.js';
export { KoffiLoadError } from './koffi.js';
export { runningTargetName, targetModule, UnsupportedTargetError } from './target.js';

// One binder of the generated layer for the whole library (src/sys/os.ts: the running target's
// module, refused on a big-endian target, and its functions bound on first use).
/** The running target: name, OS, CPU, data model, and which compiler verified its layouts. */
export const platform: TargetInfo = mod.target;
/** Constants by C name (sys.constants.EPOLLIN); absent where the target has none. */
export const constants = mod.constants;
/** Struct layouts: `structs.epoll_event` is `{ size, align, fields: { events: { offset, ... } } }`. */
export const structs = mod.structs;
/** The errno names this target defines. */
export const errnoNames = mod.errnoNames;
/** The function for `name`, bound on first use. */
export const fn = <K extends FunctionName>(name: K): SysCalls[K] => boundFn(name);
/** Whether this target has `name` (and, for optional functions, this system exports it). */
export const has = (name: FunctionName): boolean => boundHas(name);
export { errno };

/** The address of a buffer's first byte (koffi.address): for `hot` functions. Keep the buffer alive while it is used. */
export function addressOf(buf: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): number {
  // koffi takes an ArrayBuffer but not a SharedArrayBuffer: a zero-length view over it has the same first byte.
  if (types.isSharedArrayBuffer(buf)) return rawAddressOf(new Uint8Array(buf as SharedArrayBuffer, 0, 0));
  if (types.isAnyArrayBuffer(buf)) return rawAddressOf(buf as ArrayBuffer);
  if (!ArrayBuffer.isView(buf))
    throw argTypeError('buf', 'an instance of Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer', buf);
  byteLength(buf, 'buf'); // a Buffer, TypedArray or DataView, not detached
  return rawAddressOf(buf);
}

/** A zero-filled Buffer of `size` bytes whose memory never moves and cannot be detached (SharedArrayBuffer-backed): for addresses the kernel keeps. */
export function pinnedBuffer(size: number): Buffer {
  return rawPinnedBuffer(validInteger(size, 'size', 0, 2 ** 32));
}

/** The default export of metal-io/sys: the target's functions by C name, and the helpers. */
export type Sys = Partial<SysCalls> & {
  /** The running target. */
  readonly platform: TargetInfo;
  /** Constants by C name. */
  readonly constants: SysModule['constants'];
  /** Struct layouts by C name. */
  readonly structs: SysModule['structs'];
  /** The errno names the target defines. */
  readonly errnoNames: SysModule['errnoNames'];
  /** The errno the last foreign call left. */
  errno(): number;
  /** The address of a buffer's first byte. */
  addressOf(buf: ArrayBufferView | ArrayBuffer | SharedArrayBuffer): number;
  /** A buffer whose memory never moves. */
  pinnedBuffer(size: number): Buffer;
  /** A function by C name, bound on first use. */
  fn: typeof fn;
  /** Whether the target (and this system) has a function. */
  has: typeof has;
};

/** Everything above, plus every function of the target by its C name (bound on first access). */
const sys = { platform, constants, structs, errnoNames, errno, addressOf, pinnedBuffer, fn, has } as Sys;
for (const name of Object.keys(mod.functions) as FunctionName[]) {
  Object.defineProperty(sys, name, { enumerable: true, configurable: true, get: () => boundFn(name) });
}
export default sys;
