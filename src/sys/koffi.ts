// koffi, the FFI engine, loaded here and nowhere else, so that a platform koffi cannot run on fails
// with metal-io's own error: which target, why, and what to do (the YAML's `koffi:` says whether
// koffi publishes a native module for the target, needs building from source, or cannot run there).
//
// It is loaded with require() (in ESM through createRequire), not a static import: koffi throws while
// its module evaluates when it finds no native module, and only a call can catch that. One copy
// either way: the CommonJS bundle in dist/ and the ESM sources under tsx both reach koffi's
// CommonJS entry.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import type * as Koffi from 'koffi';
import { targets } from '../../generated/index.js';
import type { TargetInfo } from '../../generated/types.js';
import { isTargetName, runningTargetName } from './target.js';

/** koffi could not load: no native module for this platform, or a system it does not support. */
export class KoffiLoadError extends Error {
  /** Always 'ERR_METAL_IO_KOFFI'. */
  readonly code = 'ERR_METAL_IO_KOFFI';
  /** The target metal-io runs as (`${platform}-${arch}`, refined: musl, DragonFly, Solaris). */
  readonly target: string;
  /** A KoffiLoadError for `target`, with koffi's own error as its cause. */
  constructor(message: string, target: string, cause: unknown) {
    super(message, { cause });
    this.name = 'KoffiLoadError';
    this.target = target;
  }
}

/** @internal What a user on `target` is told when koffi failed with `cause` (exported for its test). */
export function koffiLoadError(cause: unknown, target: string = runningTargetName(), endian: 'BE' | 'LE' = endianness()): KoffiLoadError {
  const said = cause instanceof Error ? cause.message : String(cause);
  const head = `metal-io: koffi (the FFI engine metal-io calls the system through) cannot load on ${target} (Node ${process.versions.node})`;
  const known: TargetInfo | null = isTargetName(target) ? targets[target].target : null;
  let advice: string;
  if (endian === 'BE' || known?.koffi === 'none') {
    advice =
      'koffi does not run on this system (it supports little-endian systems only), and metal-io cannot run without it; see the README, "Where it runs"';
  } else if (!known) {
    advice = `metal-io has no target for ${target} either (targets: ${Object.keys(targets).join(', ')})`;
  } else if (known.koffi === 'source') {
    advice =
      'koffi publishes no native module for this system: build koffi from source on it (README, "Where it runs": koffi\'s doc/contribute.md, `node ../cnoke/cnoke.js` in src/koffi), then install that build as node_modules/koffi';
  } else {
    advice = `koffi publishes a native module for it (the optional package @koromix/koffi-${process.platform}-${process.arch}): reinstall without omitting optional dependencies (npm ci --include=optional), and when bundling keep koffi external or copy its native module as koffi's docs say`;
  }
  return new KoffiLoadError(`${head}: ${advice}. koffi said: ${said}`, target, cause);
}

const load = typeof require === 'function' ? require : createRequire(import.meta.url);

function loadKoffi(): typeof Koffi {
  try {
    return load('koffi') as typeof Koffi;
  } catch (e) {
    throw koffiLoadError(e);
  }
}

/** @internal koffi's module. Importing this file loads it, or throws KoffiLoadError. */
export const koffi: typeof Koffi = loadKoffi();
