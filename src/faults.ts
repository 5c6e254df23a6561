// Seeded fault injection: METAL_IO_FAULTS=<seed>[,rate=<0..1>] (or `new Poll({ faults })`) makes
// the library misbehave only in ways the OS is allowed to, on real sockets, so a server can be
// shaken with the faults it must survive:
//   - reads, writes and accepts that report would-block although they could have gone through;
//   - short reads and writes on streams (down to 1 byte), readv/writev included; batched datagram
//     calls (recvMany, sendMany, sendSegments) that move fewer datagrams than they could;
//   - ECONNRESET on a stream read and EPIPE on a stream write, mid-stream, on one chosen
//     connection (`reset=<n>`: the n-th stream the plan sees, counting from 1; none by default);
//   - EMFILE, ENFILE or ENOBUFS from accept() (the listener pauses), and from the socket of one
//     chosen outgoing connection (`connect=<n>`: the n-th TcpStream.connect; none by default);
//   - a connect that completes with an error (`refuse=<n>`: the n-th TcpStream.connect is sent to
//     a loopback port nobody listens on, so the kernel refuses it: a real ECONNREFUSED);
//   - events split across polls, reordered within one, and spurious ones; a wait cut short (EINTR).
// A would-block or short count that the kernel did not mean leaves bytes (or room) behind with no
// new edge to come, which a real kernel would never do; so each one is followed by the event the
// kernel would have given (the source is reported ready on the next poll): a correct program
// never hangs under faults, and a wrong one fails the way it would on a bad day.
//
// The same seed gives the same sequence of decisions (a 32-bit generator, mulberry32). The seed
// in force is printed on standard error when the process exits with an error, so a failure is
// reproduced with one environment variable. Without METAL_IO_FAULTS and without the Poll option
// the hot path pays one property read (`FAULTS.on`) and nothing else.
import { argTypeError, argValueError } from './validators.js';

/** Whether any fault injection is on in this thread (the one check the hot path pays). */
export const FAULTS = { on: false };

/** What one injected I/O call does instead of the real one (or a smaller count to move). */
export const IoFault = Object.freeze({ NONE: -1, WOULD_BLOCK: -2, RESET: -3 });

const DEFAULT_RATE = 0.05;

/** A seeded source of faults, shared by the sources of one Poll (or of the whole thread). */
export class Faults {
  readonly seed: number;
  readonly rate: number;
  /** Which stream (the n-th the plan sees, from 1) is reset mid-stream; 0: none. */
  readonly reset: number;
  /** Which TcpStream.connect (the n-th, from 1) fails to create its socket; 0: none. */
  readonly connect: number;
  /** Which TcpStream.connect (the n-th, from 1) completes with ECONNREFUSED; 0: none. */
  readonly refuse: number;
  #connects = 0;
  #s: number;
  readonly #serials = new WeakMap<object, number>();
  #nextSerial = 1;
  /** How many faults were injected so far, by kind (for tests and the exit report). */
  readonly counts = { wouldBlock: 0, short: 0, reset: 0, accept: 0, socket: 0, refused: 0, split: 0, reorder: 0, spurious: 0, eintr: 0 };

  constructor(seed: number, rate: number, reset = 0, connect = 0, refuse = 0) {
    this.seed = seed;
    this.rate = rate;
    this.reset = reset;
    this.connect = connect;
    this.refuse = refuse;
    this.#s = seed >>> 0;
    FAULTS.on = true;
    reportOnErrorExit(this);
  }

  /** The next number in [0, 1) (mulberry32). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Whether to inject a fault now. */
  hit(): boolean {
    return this.next() < this.rate;
  }

  /**
   * For a stream read or write of `want` bytes (`stream`) by `source`, a batched datagram call of
   * `want` datagrams (`short` without `stream`), or a single datagram/peek call (neither): NONE, a
   * smaller count to move instead (streams and batches), WOULD_BLOCK or RESET (only on the chosen
   * stream).
   */
  io(source: object, want: number, stream: boolean, short = stream): number {
    if (!this.hit()) return IoFault.NONE;
    const r = this.next();
    if (stream && this.reset !== 0 && r < 0.2 && this.#serial(source) === this.reset) {
      this.counts.reset++;
      return IoFault.RESET;
    }
    if (short && want > 1 && r < 0.6) {
      this.counts.short++;
      return 1 + this.int(want - 1);
    }
    this.counts.wouldBlock++;
    return IoFault.WOULD_BLOCK;
  }

  /** The order in which the plan first saw `source` (from 1). */
  #serial(source: object): number {
    let n = this.#serials.get(source);
    if (n === undefined) {
      n = this.#nextSerial++;
      this.#serials.set(source, n);
    }
    return n;
  }

  /** For accept(): null, or the resource error to report ('EMFILE', 'ENFILE', 'ENOBUFS'), or 'EAGAIN'. */
  accept(): string | null {
    if (!this.hit()) return null;
    const r = this.next();
    if (r < 0.5) {
      this.counts.wouldBlock++;
      return 'EAGAIN';
    }
    this.counts.accept++;
    return r < 0.8 ? 'EMFILE' : r < 0.9 ? 'ENFILE' : 'ENOBUFS';
  }

  /**
   * For each TcpStream.connect: null, 'refuse' (connect it where it will be refused), or the error
   * its socket creation throws ('EMFILE', 'ENFILE', 'ENOBUFS'); only the chosen connects.
   */
  onConnect(): string | null {
    if (this.connect === 0 && this.refuse === 0) return null;
    const n = ++this.#connects;
    if (n === this.refuse) {
      this.counts.refused++;
      return 'refuse';
    }
    if (n !== this.connect) return null;
    this.counts.socket++;
    const r = this.next();
    return r < 0.6 ? 'EMFILE' : r < 0.8 ? 'ENFILE' : 'ENOBUFS';
  }
}

/**
 * Parses a fault plan: `'<seed>[,rate=<0..1>][,reset=<n>]'` (the environment variable's form) or
 * `{ seed, rate?, reset? }`. The seed is an integer from 0 to 2^32-1; the rate defaults to 0.05;
 * `reset` picks the stream to reset mid-stream (the n-th the plan sees), none by default.
 */
export function parseFaults(spec: unknown, name: string): Faults {
  let seed: unknown;
  let rate: unknown = DEFAULT_RATE;
  let reset: unknown = 0;
  let connect: unknown = 0;
  let refuse: unknown = 0;
  const form = "'<seed>[,rate=<0..1>][,reset=<n>][,connect=<n>][,refuse=<n>]'";
  if (typeof spec === 'string') {
    const [s, ...opts] = spec.split(',');
    seed = s!.trim() === '' ? NaN : Number(s);
    for (const o of opts) {
      const m = /^\s*(rate|reset|connect|refuse)=(.*)$/.exec(o);
      if (!m) throw argValueError(name, `must be ${form}`, spec);
      const v = Number(m[2]);
      if (m[1] === 'rate') rate = v;
      else if (m[1] === 'reset') reset = v;
      else if (m[1] === 'connect') connect = v;
      else refuse = v;
    }
  } else if (typeof spec === 'object' && spec !== null) {
    const d = (k: string) => {
      const p = Object.getOwnPropertyDescriptor(spec, k);
      return p && 'value' in p ? p.value : undefined;
    };
    seed = d('seed');
    if (d('rate') !== undefined) rate = d('rate');
    if (d('reset') !== undefined) reset = d('reset');
    if (d('connect') !== undefined) connect = d('connect');
    if (d('refuse') !== undefined) refuse = d('refuse');
  } else {
    throw argTypeError(name, `a string ${form} or an object { seed, rate, reset, connect, refuse }`, spec);
  }
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw argValueError(`${name} seed`, 'must be an integer from 0 to 4294967295', seed);
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw argValueError(`${name} rate`, 'must be a number from 0 to 1', rate);
  for (const [k, v] of [
    ['reset', reset],
    ['connect', connect],
    ['refuse', refuse],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff)
      throw argValueError(`${name} ${k}`, 'must be an integer from 0 (none) to 2147483647', v);
  }
  return new Faults(seed, rate, reset as number, connect as number, refuse as number);
}

let reported: Faults[] | null = null;
function reportOnErrorExit(f: Faults): void {
  if (reported === null) {
    reported = [];
    const list = reported;
    process.on('exit', (code) => {
      if (code === 0) return;
      for (const x of list)
        process.stderr.write(
          `metal-io faults: this run used METAL_IO_FAULTS=${x.seed},rate=${x.rate}${x.reset ? `,reset=${x.reset}` : ''}${x.connect ? `,connect=${x.connect}` : ''}${x.refuse ? `,refuse=${x.refuse}` : ''} (injected: ${JSON.stringify(x.counts)})\n`,
        );
    });
  }
  reported.push(f);
}

/** The thread-wide plan from METAL_IO_FAULTS, or null. */
export const envFaults: Faults | null = (() => {
  const v = process.env.METAL_IO_FAULTS;
  return v === undefined || v === '' ? null : parseFaults(v, 'METAL_IO_FAULTS');
})();
