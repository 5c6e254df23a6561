// CLOCK_MONOTONIC through clock_gettime(2), into two pinned timespecs: start() writes the first
// (one call, no JavaScript number made), elapsed() the second and subtracts.

import type { Stopwatch } from '../clock.js';
import { getWord } from '../ffi.js';
import { constant, fn, layout } from '../os.js';
import { addressOf, fail, pinnedWords } from './fd.js';

class ClockStopwatch implements Stopwatch {
  readonly #gettime = fn('clock_gettime');
  readonly #clock = constant('CLOCK_MONOTONIC');
  readonly #t0: Uint32Array;
  readonly #a0: number;
  readonly #t1: Uint32Array;
  readonly #a1: number;
  readonly #sec: { offset: number; size: number };
  readonly #nsec: { offset: number; size: number };

  constructor() {
    const ts = layout('timespec');
    this.#sec = ts.fields.tv_sec!;
    this.#nsec = ts.fields.tv_nsec!;
    const a = pinnedWords(ts.size);
    const b = pinnedWords(ts.size);
    this.#t0 = a.words;
    this.#a0 = addressOf(a.bytes);
    this.#t1 = b.words;
    this.#a1 = addressOf(b.bytes);
  }

  start(): void {
    if (this.#gettime(this.#clock, this.#a0) !== 0) fail('clock_gettime');
  }

  elapsed(): number {
    if (this.#gettime(this.#clock, this.#a1) !== 0) fail('clock_gettime');
    const s = this.#sec;
    const ns = this.#nsec;
    const sec = getWord(this.#t1, s.offset, s.size) - getWord(this.#t0, s.offset, s.size);
    return sec * 1000 + (getWord(this.#t1, ns.offset, ns.size) - getWord(this.#t0, ns.offset, ns.size)) / 1e6;
  }
}

export function unixStopwatch(): Stopwatch {
  return new ClockStopwatch();
}
