// Picks the generated module of the running target. Importing this loads no library.
import { targets } from '../../generated/index.js';
import type { SysModule, TargetName } from '../../generated/types.js';

/** The target name for this process: `${platform}-${arch}`, or linux-libkqueue-x64 when asked for. */
export function runningTargetName(env: NodeJS.ProcessEnv = process.env): string {
  const name = `${process.platform}-${process.arch}`;
  // Linux with the userspace libkqueue: Linux sockets, kqueue event queue (see README, kqueue on Linux).
  if (name === 'linux-x64' && env.METAL_IO_BACKEND === 'kqueue' && env.METAL_IO_LIBKQUEUE) return 'linux-libkqueue-x64';
  return name;
}

/** There is no generated system layer for this platform and CPU. */
export class UnsupportedTargetError extends Error {
  /** Always 'ERR_METAL_IO_UNSUPPORTED_TARGET'. */
  readonly code = 'ERR_METAL_IO_UNSUPPORTED_TARGET';
  /** The target asked for: `${platform}-${arch}`. */
  readonly target: string;
  /** An error naming `target`. */
  constructor(target: string) {
    super(`metal-io has no system layer for target '${target}' (supported: ${Object.keys(targets).join(', ')})`);
    this.name = 'UnsupportedTargetError';
    this.target = target;
  }
}

export function isTargetName(name: string): name is TargetName {
  return Object.prototype.hasOwnProperty.call(targets, name);
}

/** The generated module for `name`; throws UnsupportedTargetError naming it when there is none. */
export function targetModule(name: string): SysModule {
  if (!isTargetName(name)) throw new UnsupportedTargetError(name);
  return targets[name];
}
