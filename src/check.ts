// The misuse detector: METAL_IO_CHECK=1 (or `new Poll({ check: true })`) watches the readiness
// contract and reports each misuse once per source, synchronously on standard error, as one line
// beginning `metal-io misuse:` with what happened and the caller's file and line;
// METAL_IO_CHECK=strict (`check: 'strict'`) throws an Error with code ERR_METAL_IO_MISUSE instead.
// The stack is captured only when a misuse is found; with the detector off the hot path pays one
// property read (`CHECK.on`).
import { writeSync } from 'node:fs';
import { argValueError } from './validators.js';

/** Whether any Poll of this thread checks (the one test the hot path pays), and the environment's mode. */
export const CHECK = { on: false };

/** 0: off, 1: report on stderr, 2: throw (strict). */
export type CheckMode = 0 | 1 | 2;

/** The misuses, one bit each (a source reports each at most once). */
export const Misuse = Object.freeze({
  UNDRAINED: 1, // a readable event not followed to would-block before the next wait
  TOKEN_TWICE: 2, // one token given to two live sources of one Poll
  CLOSED_BEHIND: 4, // EBADF: the fd was closed behind the library's back
  NO_WRITABLE: 8, // a write would-block with no WRITABLE interest registered
  EOF_AS_WOULD_BLOCK: 16, // read() returned 0 and the source stays registered for READABLE
  PAUSED_DROPPED: 32, // a listener paused by fd exhaustion whose retry went unanswered, or that was deregistered while paused
});

export function parseCheck(v: unknown, name: string): CheckMode {
  if (v === undefined || v === '' || v === '0' || v === false) return 0;
  if (v === '1' || v === true) return 1;
  if (v === 'strict') return 2;
  throw argValueError(name, "must be '1' (true) or 'strict'", v);
}

/** The mode METAL_IO_CHECK asks for. */
export const envCheck: CheckMode = parseCheck(process.env.METAL_IO_CHECK, 'METAL_IO_CHECK');
if (envCheck !== 0) CHECK.on = true;

const reported = new WeakMap<object, number>();

/** A stack line's location ("path:line:col", without file://), or null. */
function frameOf(line: string): string | null {
  const m = /\(?((?:file:\/\/)?[^()\s]+:\d+:\d+)\)?\s*$/.exec(line.trim());
  return m ? m[1]!.replace(/^file:\/\//, '') : null;
}

/** The directory this module is in (src/, or dist/ in the package): frames there are the library's. */
const libDir = (() => {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  const self = frameOf((holder.stack ?? '').split('\n')[1] ?? '');
  return self === null ? '' : self.replace(/[/\\][^/\\]+$/, '');
})();

/** The first stack frame outside the library and Node's internals, as "file:line:column". */
function callerFrame(): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  try {
    Error.captureStackTrace(holder, callerFrame);
  } finally {
    Error.stackTraceLimit = limit;
  }
  let first: string | null = null;
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    const where = frameOf(line);
    if (where === null || where.startsWith('node:')) continue;
    first ??= where;
    if (libDir !== '' && where.startsWith(`${libDir}/`)) continue;
    return where;
  }
  return first ?? 'unknown location'; // the caller was bundled with the library: the nearest frame
}

/**
 * Reports misuse `kind` of `source` (described as `what`) once: a line on stderr in mode 1, an
 * Error with code ERR_METAL_IO_MISUSE thrown in mode 2.
 */
export function misuse(mode: CheckMode, source: object, kind: number, what: string): void {
  if (mode === 0) return;
  const seen = reported.get(source) ?? 0;
  if ((seen & kind) !== 0) return;
  reported.set(source, seen | kind);
  const line = `metal-io misuse: ${what} (at ${callerFrame()})`;
  if (mode === 2) {
    const err = new Error(line) as Error & { code: string };
    err.code = 'ERR_METAL_IO_MISUSE';
    throw err;
  }
  writeSync(2, `${line}\n`);
}
