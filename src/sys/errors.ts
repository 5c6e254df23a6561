// System errors the Node way (the system layer's: the backends throw them, and the public types
// re-export them through src/errors.ts): `Error` with `code` ('EEXIST'), `errno` (negative, as Node's own
// errors carry it), `syscall`, and a message such as `connect ECONNREFUSED 127.0.0.1:9`.

import { debug } from '../debug.js';
import { mod } from './os.js';

const names = new Map<number, string>();
for (const name of mod.errnoNames) {
  const v = mod.constants[name];
  if (v !== undefined && !names.has(v)) names.set(v, name.replace(/^WSAE/, 'E'));
}

/** An error from the OS, shaped as Node's own system errors. */
export interface SystemError extends Error {
  /** The errno name: 'ECONNREFUSED' (Winsock's WSAE names as E names). */
  code: string;
  /** The error number, negative as Node's. */
  errno: number;
  /** The call that failed: 'connect'. */
  syscall: string;
  /** The address involved, where there is one. */
  address?: string;
  /** The port involved, where there is one. */
  port?: number;
}

/** The errno name for a positive OS error number (EAGAIN, WSAECONNREFUSED → ECONNREFUSED), or `Unknown system error N`. */
export function errnoName(n: number): string {
  return names.get(n) ?? `Unknown system error ${n}`;
}

/** A Node-style system error for OS error number `n` (positive, as errno(3) gives it). */
export function systemError(syscall: string, n: number, detail?: string): SystemError {
  // A number the target's headers do not define gets libuv's code for it, UNKNOWN.
  const name = names.get(n);
  const code = name ?? 'UNKNOWN';
  const err = new Error(`${syscall} ${name ?? `Unknown system error ${n}`}${detail ? ` ${detail}` : ''}`) as SystemError;
  err.code = code;
  err.errno = -n;
  err.syscall = syscall;
  Error.captureStackTrace?.(err, systemError);
  if (debug.enabled && code !== 'EAGAIN') debug('error %s', err.message);
  return err;
}

/** A system error about a socket address: `connect ECONNREFUSED 127.0.0.1:9`, with `address` and `port` set as node:net sets them. */
export function addressError(syscall: string, n: number, a: { text: string; host: string; port: number }): SystemError {
  const err = systemError(syscall, n, a.text);
  err.address = a.host;
  err.port = a.port;
  return err;
}

/** A system error by name, for conditions the library detects itself (a closed Poll is EBADF). */
export function errorByName(syscall: string, code: string, message: string): SystemError {
  const n = mod.constants[code as keyof typeof mod.constants] ?? 0;
  const err = new Error(`${syscall} ${code}: ${message}`) as SystemError;
  err.code = code;
  err.errno = n ? -n : 0;
  err.syscall = syscall;
  Error.captureStackTrace?.(err, errorByName);
  return err;
}
