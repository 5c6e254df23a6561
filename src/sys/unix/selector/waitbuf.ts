// The memory a wait call (kevent, port_getn) writes into: a pinned array of event records that
// grows between waits, and a pinned timespec. Pinned (ArrayBuffer-backed, never moved by V8), as
// their addresses go to the kernel; allocated only when a larger Events first asks for it.
import type { StructInfo } from '../../../../generated/types.js';
import { addressOf, pinnedBuffer, writeInt } from '../fd.js';

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
  private readonly buf: Buffer;
  private readonly addr: number;
  constructor(private readonly ts: StructInfo) {
    this.buf = pinnedBuffer(ts.size);
    this.addr = addressOf(this.buf);
  }
  /** Writes `timeoutMs` (fractions kept to the nanosecond); returns its address, or 0 (NULL: wait forever) when negative. */
  at(timeoutMs: number): number {
    if (timeoutMs < 0) return 0;
    const ns = Math.round(timeoutMs * 1e6);
    writeInt(this.buf, this.ts.fields.tv_sec!, Math.floor(ns / 1e9));
    writeInt(this.buf, this.ts.fields.tv_nsec!, ns % 1e9);
    return this.addr;
  }
}
