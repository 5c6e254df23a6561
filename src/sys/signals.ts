// Which signal mechanism the running target has: libuv's signal pipes on Unix (sys/unix/signals.ts).
// On Windows there are no POSIX signals to catch: libuv emulates SIGINT/SIGBREAK/SIGHUP from
// console events inside Node's own loop, which has no handle a Poll could watch.
import { isWindows, mod } from './os.js';
import { type SignalSet, createSignalSet as unixSignalSet } from './unix/signals.js';

export { reapSignalSet, signalRecord } from './unix/signals.js';

import { unsupportedError } from './unsupported.js';

export type { SignalSet } from './unix/signals.js';

/**
 * Catches `signums`; throws ERR_METAL_IO_UNSUPPORTED where a Poll cannot watch signals. `record`
 * (from signalRecord()) is where a thread outliving this one finds what to finish (reapSignalSet).
 */
export function createSignalSet(signums: readonly number[], record: Int32Array): SignalSet {
  if (isWindows) {
    throw unsupportedError(
      `metal-io: Signals is not available on ${mod.target.name} (no POSIX signals: use process.on with pollAsync, or a Waker)`,
    );
  }
  return unixSignalSet(signums, record);
}
