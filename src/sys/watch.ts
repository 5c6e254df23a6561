// The watch a Poll's wait inside Node's loop uses where its selector has a pollable fd (epoll,
// kqueue, event ports: Unix, main thread): libuv's uv_poll_t on Node's loop (sys/unix/uvwatch.ts).
// Windows has no such wait (IOCP waits on a koffi thread), so there is nothing to pick here.
import { UvPollWatch } from './unix/uvwatch.js';

/** libuv's watch of one fd's readability in this thread's loop. */
export interface FdWatch {
  /** Watches again (or still), calling `onReadable` on each readable turn. */
  start(onReadable: () => void): void;
  stop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** Starts watching `fd` for readability in Node's loop: `onReadable` runs on each readable turn. */
export function watchReadable(fd: number, onReadable: () => void): FdWatch {
  return new UvPollWatch(fd, onReadable);
}
