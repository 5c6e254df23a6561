// The running target's system layer as src/ uses it: its generated module, lazily bound functions,
// constants and struct layouts that throw a clear error when the target lacks them.
import type { ConstantName, FunctionName, StructInfo, StructName, SysCalls, SysModule } from '../../generated/types.js';
import { createBinder } from './ffi.js';
import { runningTargetName, targetModule } from './target.js';
import { unsupportedError } from './unsupported.js';

/**
 * @internal Refuses a big-endian target: src/ reads and writes kernel structs little-endian (DataView
 * with `true`, Buffer's *LE), so aix-ppc64 is generated and checked for completeness, never misread.
 */
export function runnable(m: SysModule): SysModule {
  if (m.target.endian !== 'little')
    throw unsupportedError(
      `metal-io: ${m.target.name} is big-endian, and metal-io reads and writes kernel structs little-endian (its generated layer describes the target; its system layer cannot run there yet)`,
    );
  return m;
}

export const mod: SysModule = runnable(targetModule(runningTargetName()));
const binder = createBinder(mod);

function unsupported(what: string): Error {
  return unsupportedError(`metal-io: ${what} is not available on ${mod.target.name}`);
}

/** A constant of the running target; throws when the target has none. */
export function constant(name: ConstantName): number {
  const v = mod.constants[name];
  if (v === undefined) throw unsupported(`constant ${name}`);
  return v;
}

/** A struct layout of the running target; throws when the target has none. */
export function layout(name: StructName): StructInfo {
  const s = mod.structs[name];
  if (!s) throw unsupported(`struct ${name}`);
  return s;
}

/** Offset of `field` in `struct`; throws when either is missing. */
export function offsetOf(struct: StructName, field: string): number {
  const f = layout(struct).fields[field];
  if (!f) throw unsupported(`${struct}.${field}`);
  return f.offset;
}

/** The bound function; throws a clear error when the target or the system lacks it. */
export function fn<K extends FunctionName>(name: K): SysCalls[K] {
  return binder.fn(name);
}
export function has(name: FunctionName): boolean {
  return binder.has(name);
}
/** The address of `name`'s code (a C function pointer to it). */
export function address(name: FunctionName): bigint {
  return binder.address(name);
}

export const isWindows = mod.target.os === 'win32';

/** Throws ERR_METAL_IO_UNSUPPORTED unless the target's sockets and pipes are fds (the Unix types). */
export function needFds(what: string): void {
  if (mod.target.net !== 'bsd') throw unsupported(`${what} (Unix-only: it needs fds)`);
}

/** Throws ERR_METAL_IO_UNSUPPORTED unless the target is Windows (named pipes, handles). */
export function needWindows(what: string): void {
  if (mod.target.os !== 'win32') throw unsupported(`${what} (Windows-only)`);
}
