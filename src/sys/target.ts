// Picks the generated module of the running target. Importing this loads no library.
import { readFileSync } from 'node:fs';
import { type as osType, version as osVersion } from 'node:os';
import { targets } from '../../generated/index.js';
import type { SysModule, TargetName } from '../../generated/types.js';

/**
 * Whether this process runs on musl (Alpine): Node names the platform linux either way. The loaded
 * dynamic loader says it (/proc/self/maps has ld-musl-*.so.1); without /proc, process.report's
 * header, which names a glibc version only on glibc.
 */
export function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return mapsShowMusl(readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    /* no /proc */
  }
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header !== undefined && !header.glibcVersionRuntime;
}

/** Whether a /proc/PID/maps text shows musl's dynamic loader mapped. */
export function mapsShowMusl(maps: string): boolean {
  return /\/ld-musl-[^/\s]*\.so/.test(maps);
}

/**
 * The target name for a platform as Node names it, refined where Node names two systems alike:
 * musl Linux (`-musl`); DragonFly, whose Node reports 'freebsd' (os.type() says 'DragonFly');
 * Oracle Solaris (`-solaris`), which shares 'sunos' with illumos (os.version() is 11.x there).
 */
export function targetNameFor(p: { platform: string; arch: string; osType: string; osVersion?: string; musl: boolean }): string {
  if (p.platform === 'freebsd' && p.osType === 'DragonFly') return `dragonfly-${p.arch}`;
  if (p.platform === 'sunos' && /^11\.\d/.test(p.osVersion ?? '')) return `sunos-${p.arch}-solaris`;
  return `${p.platform}-${p.arch}${p.platform === 'linux' && p.musl ? '-musl' : ''}`;
}

/** The target name for this process (targetNameFor), or linux-libkqueue-x64 when asked for. */
export function runningTargetName(env: NodeJS.ProcessEnv = process.env): string {
  const name = targetNameFor({ platform: process.platform, arch: process.arch, osType: osType(), osVersion: osVersion(), musl: isMusl() });
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
  return Object.hasOwn(targets, name);
}

/** The generated module for `name`; throws UnsupportedTargetError naming it when there is none. */
export function targetModule(name: string): SysModule {
  if (!isTargetName(name)) throw new UnsupportedTargetError(name);
  return targets[name];
}
