// QueryPerformanceCounter into two pinned LARGE_INTEGERs: start() writes the first (one call, no
// JavaScript number made), elapsed() the second and divides by the frequency, read once (fixed at boot).
import type { Stopwatch } from '../clock.js';
import { systemError } from '../errors.js';
import { addressOf, getWord, pinnedWords } from '../ffi.js';
import { fn } from '../os.js';

const fail = (call: string): never => {
  throw systemError(call, fn('GetLastError')());
};

class QpcStopwatch implements Stopwatch {
  readonly #query = fn('QueryPerformanceCounter');
  readonly #t0: Uint32Array;
  readonly #a0: number;
  readonly #t1: Uint32Array;
  readonly #a1: number;
  readonly #perMs: number;

  constructor() {
    const a = pinnedWords(8);
    const b = pinnedWords(8);
    this.#t0 = a.words;
    this.#a0 = addressOf(a.bytes);
    this.#t1 = b.words;
    this.#a1 = addressOf(b.bytes);
    const f = pinnedWords(8);
    if (!fn('QueryPerformanceFrequency')(f.bytes)) fail('QueryPerformanceFrequency');
    this.#perMs = getWord(f.words, 0, 8) / 1000;
  }

  start(): void {
    if (!this.#query(this.#a0)) fail('QueryPerformanceCounter');
  }

  elapsed(): number {
    if (!this.#query(this.#a1)) fail('QueryPerformanceCounter');
    return (getWord(this.#t1, 0, 8) - getWord(this.#t0, 0, 8)) / this.#perMs;
  }
}

export function windowsStopwatch(): Stopwatch {
  return new QpcStopwatch();
}
