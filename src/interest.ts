// Interest: what readiness a registration asks for. Numeric bit flags (mio's values), combined with `|`.
import { argTypeError, argValueError, describe } from './validators.js';

/** A non-empty combination of Interest flags. */
export type Interest = number;

const READABLE = 0b00001;
const WRITABLE = 0b00010;
const AIO = 0b00100;
const LIO = 0b01000;
const PRIORITY = 0b10000;
const ALL = READABLE | WRITABLE | AIO | LIO | PRIORITY;

const NAMES: [number, string][] = [
  [READABLE, 'READABLE'],
  [WRITABLE, 'WRITABLE'],
  [AIO, 'AIO'],
  [LIO, 'LIO'],
  [PRIORITY, 'PRIORITY'],
];

/** Interest flags and helpers (mio's Interest). */
export const Interest = Object.freeze({
  /** Readable readiness (and read-side conditions: end of stream, errors). */
  READABLE,
  /** Writable readiness. */
  WRITABLE,
  /** AIO completions (kqueue EVFILT_AIO: FreeBSD, macOS). */
  AIO,
  /** LIO completions (kqueue EVFILT_LIO: FreeBSD). */
  LIO,
  /** Priority (out-of-band) data: EPOLLPRI / POLLPRI. */
  PRIORITY,
  /** `a | b`. */
  add(a: Interest, b: Interest): Interest {
    return validInterest(a, 'a') | validInterest(b, 'b');
  },
  /** `a` without `b`, or null when nothing is left (mio returns None). */
  remove(a: Interest, b: Interest): Interest | null {
    const r = validInterest(a, 'a') & ~validInterest(b, 'b');
    return r === 0 ? null : r;
  },
  /** Whether `i` has READABLE. */
  isReadable: (i: Interest): boolean => (validInterest(i) & READABLE) !== 0,
  /** Whether `i` has WRITABLE. */
  isWritable: (i: Interest): boolean => (validInterest(i) & WRITABLE) !== 0,
  /** Whether `i` has AIO. */
  isAio: (i: Interest): boolean => (validInterest(i) & AIO) !== 0,
  /** Whether `i` has LIO. */
  isLio: (i: Interest): boolean => (validInterest(i) & LIO) !== 0,
  /** Whether `i` has PRIORITY. */
  isPriority: (i: Interest): boolean => (validInterest(i) & PRIORITY) !== 0,
  /** "READABLE | WRITABLE". */
  format(i: Interest): string {
    const v = validInterest(i);
    return NAMES.filter(([bit]) => (v & bit) !== 0)
      .map(([, n]) => n)
      .join(' | ');
  },
});

/**
 * `i` if it is a non-empty combination of known Interest bits: an integer from 1 to 31. A
 * non-number is ERR_INVALID_ARG_TYPE; anything else (0, fractions, other bits, values past 2^32
 * that would wrap to known bits) ERR_INVALID_ARG_VALUE. Both are TypeErrors.
 */
export function validInterest(i: unknown, name = 'interest'): Interest {
  if (typeof i !== 'number') throw argTypeError(name, 'Interest flags (of type number)', i);
  if (i === 0) throw argValueError(name, 'must not be empty', i);
  if (!Number.isInteger(i) || i < 0 || i > ALL || (i & ~ALL) !== 0)
    throw argValueError(name, `has unknown bits (known: ${NAMES.map(([, n]) => n).join(', ')})`, i);
  return i;
}

export { describe };
