// The memory a wait call (kevent, port_getn) writes into: a pinned array of event records that
// grows between waits, and a pinned timespec. Pinned (ArrayBuffer-backed, never moved by V8), as
// their addresses go to the kernel; allocated only when a larger Events first asks for it.
import type { StructInfo } from '../../../../generated/types.js';
import { putWord } from '../../ffi.js';
import { addressOf, pinnedBuffer, pinnedWords } from '../fd.js';

export class EventArray {
  buf = pinnedBuffer(0);
  view = new DataView(this.buf.buffer, this.buf.byteOffset, 0);
  addr = 0;
  constructor(private readonly recordSize: number) {}
  /** Room for `capacity` records; call only between waits (a running wait owns the memory). */
  ensure(capacity: number): void {
    if (this.buf.length >= capacity * this.recordSize) return;
    this.buf = pinnedBuffer(capacity * this.recordSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.addr = addressOf(this.buf);
  }
}

export class TimespecArg {
  private readonly words: Uint32Array;
  private readonly addr: number;
  private readonly sec: { offset: number; size: number };
  private readonly nsec: { offset: number; size: number };
  constructor(ts: StructInfo) {
    const { bytes, words } = pinnedWords(ts.size);
    this.words = words;
    this.addr = addressOf(bytes);
    this.sec = ts.fields.tv_sec!;
    this.nsec = ts.fields.tv_nsec!;
  }
  /** Writes `timeoutMs` (fractions kept to the nanosecond); returns its address, or 0 (NULL: wait forever) when negative. */
  at(timeoutMs: number): number {
    if (timeoutMs < 0) return 0;
    // Word writes of non-negative numbers: no BigInt, no Buffer method, nothing allocated per wait.
    const ns = Math.round(timeoutMs * 1e6);
    putWord(this.words, this.sec.offset, Math.floor(ns / 1e9), this.sec.size);
    putWord(this.words, this.nsec.offset, ns % 1e9, this.nsec.size);
    return this.addr;
  }
}
