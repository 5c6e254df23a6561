// iovec arrays for readv/writev, encoded by element writes from lengths the engine measured (see
// validators.ts): nothing a caller can replace runs between measuring the buffers and the call.

import { addressOf, putWord, wordBuffer } from '../sys/ffi.js';
import { mod } from '../sys/os.js';
import { bufferOf, viewList } from '../validators.js';

/** The most buffers one readv/writev takes (IOV_MAX on Linux and the BSDs). */
export const IOV_MAX = 1024;

/**
 * Builds an iovec array over `bufs` for readv/writev: addresses and lengths from the engine's view
 * of each buffer (validators.viewList). Returns the array, the count and the byte total.
 */
export function iovecs(bufs: unknown, what: string): { iov: Buffer; words: Uint32Array; lengths: number[]; count: number; total: number } {
  const { views, lengths, total } = viewList(bufs, what, IOV_MAX);
  const iov = mod.structs.iovec!;
  const { bytes: out, words } = wordBuffer(Math.max(1, views.length) * iov.size);
  const base = iov.fields.iov_base!;
  const len = iov.fields.iov_len!;
  // Taking the ArrayBuffer moves a small on-heap array's bytes off the V8 heap for good, so the
  // addresses taken below cannot be moved by a GC that one of the later address() calls might trigger.
  for (let i = 0; i < views.length; i++) bufferOf(views[i]!);
  // From here to the system call nothing a caller can replace runs: element writes only (putWord).
  for (let i = 0; i < views.length; i++) {
    const at = i * iov.size;
    putWord(words, at + base.offset, addressOf(views[i]!), base.size);
    putWord(words, at + len.offset, lengths[i]!, len.size);
  }
  return { iov: out, words, lengths, count: views.length, total };
}

/**
 * Fault injection's short count on an iovec array built by iovecs(): cuts it to its first `limit`
 * bytes (the entry where they end is shortened, later ones dropped). Returns the entries left.
 */
export function limitIovecs(words: Uint32Array, lengths: readonly number[], limit: number): number {
  const iov = mod.structs.iovec!;
  const len = iov.fields.iov_len!;
  let i = 0;
  let left = limit;
  while (lengths[i]! < left) left -= lengths[i++]!;
  putWord(words, i * iov.size + len.offset, left, len.size);
  return i + 1;
}
