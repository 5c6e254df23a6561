// The monotonic clock a timed wait measures what it has left with, after a signal (EINTR) or an
// internal completion ended a wait early with nothing to report. start() is on every timed wait's
// path, so it allocates nothing: the clock writes into memory the stopwatch owns and no JavaScript
// number is made from it; elapsed() runs only on the rare early return.
import { isWindows } from './os.js';
import { unixStopwatch } from './unix/clock.js';
import { windowsStopwatch } from './windows/clock.js';

export interface Stopwatch {
  /** Marks now (allocation-free). */
  start(): void;
  /** Milliseconds since the last start(), fractions kept. */
  elapsed(): number;
}

/** A stopwatch on the running target's monotonic clock. */
export function stopwatch(): Stopwatch {
  return isWindows ? windowsStopwatch() : unixStopwatch();
}
