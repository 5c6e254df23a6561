// Worker: wakes a Poll in the main thread through a Waker handle, after a delay.
import { parentPort, workerData } from 'node:worker_threads';
import { Waker } from '../../src/index.js';

const { handle, delayMs, times = 1 } = workerData as { handle: never; delayMs: number; times?: number };
const waker = Waker.fromHandle(handle);
parentPort!.postMessage('ready');
const sab = new Int32Array(new SharedArrayBuffer(4));
Atomics.wait(sab, 0, 0, delayMs);
let result = 'woke';
try {
  for (let i = 0; i < times; i++) waker.wake();
} catch (e) {
  result = `${(e as { code?: string }).code}`;
}
parentPort!.postMessage(result);
