// Interest: what readiness a registration asks for. Numeric bit flags (mio's values), combined with `|`.

/** A non-empty combination of Interest flags. */
export type Interest = number;

const READABLE = 0b00001;
const WRITABLE = 0b00010;
const AIO = 0b00100;
const LIO = 0b01000;
const PRIORITY = 0b10000;
const ALL = READABLE | WRITABLE | AIO | LIO | PRIORITY;

const NAMES: [number, string][] = [[READABLE, 'READABLE'], [WRITABLE, 'WRITABLE'], [AIO, 'AIO'], [LIO, 'LIO'], [PRIORITY, 'PRIORITY']];

export const Interest = Object.freeze({
  READABLE, WRITABLE, AIO, LIO, PRIORITY,
  /** `a | b`. */
  add(a: Interest, b: Interest): Interest { return validInterest(a) | validInterest(b); },
  /** `a` without `b`, or null when nothing is left (mio returns None). */
  remove(a: Interest, b: Interest): Interest | null { const r = validInterest(a) & ~validInterest(b); return r === 0 ? null : r; },
  isReadable: (i: Interest): boolean => (i & READABLE) !== 0,
  isWritable: (i: Interest): boolean => (i & WRITABLE) !== 0,
  isAio: (i: Interest): boolean => (i & AIO) !== 0,
  isLio: (i: Interest): boolean => (i & LIO) !== 0,
  isPriority: (i: Interest): boolean => (i & PRIORITY) !== 0,
  /** "READABLE | WRITABLE". */
  format(i: Interest): string { return NAMES.filter(([bit]) => (validInterest(i) & bit) !== 0).map(([, n]) => n).join(' | '); },
});

/** Throws TypeError unless `i` is a non-empty combination of known Interest bits. */
export function validInterest(i: unknown): Interest {
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`interest must be Interest flags (a number), got ${describe(i)}`);
  if (i === 0) throw new TypeError('interest must not be empty');
  if ((i & ~ALL) !== 0 || i < 0) throw new TypeError(`interest has unknown bits: 0x${(i >>> 0).toString(16)}`);
  return i;
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return `string '${v}'`;
  if (typeof v === 'number') return `number ${v}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
