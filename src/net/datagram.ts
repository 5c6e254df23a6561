// Allocation-free datagram I/O: PeerAddress (a reusable socket address, kept as the kernel's bytes
// and decoded only when asked) and DatagramBatch (preallocated slots for recvMany/sendMany). The
// system calls behind them (recvmmsg/sendmmsg, recvmsg/sendmsg, or a loop) are the socket seam's.
import { inspect } from 'node:util';
import { copyBytes, pinnedBuffer } from '../sys/ffi.js';
import { argTypeError, guardThis, validInteger } from '../validators.js';
import { type AddressInfo, decodeAddr, encodeAddr, formatAddr, parseAddr, type SocketAddr, storageSize } from './addr.js';

// Brand checks, set by the classes' static blocks: a look-alike or a Proxy is never accepted.
let isPeer: (v: unknown) => boolean;
let isBatch: (v: unknown) => boolean;

/**
 * A socket address held as a sockaddr (the kernel's bytes), reusable: `recvFromPeer` and
 * `recvMany` fill one without allocating, `sendToPeer` and `sendMany` send to one without parsing.
 * Reading `address`, `port` or `family` decodes it (and allocates the string); compare and copy
 * without decoding with `equals` and `copyFrom`.
 */
export class PeerAddress {
  /** @internal The sockaddr bytes (sockaddr_storage-sized, pinned). */
  declare readonly bytes: Buffer;
  #len = 0;
  /** The bytes `bytes` holds (sockaddr_storage), kept as a number: no `length` getter decides it. */
  #cap = storageSize();
  #decoded: AddressInfo | null = null;

  /** An empty address, or `addr` parsed once ("127.0.0.1:53", "[::1]:53", { address, port }). */
  constructor(addr?: SocketAddr, bytes?: Buffer) {
    Object.defineProperty(this, 'bytes', { value: bytes ?? pinnedBuffer(this.#cap) });
    if (addr !== undefined) this.set(addr);
  }

  /** @internal A PeerAddress over existing memory (a batch slot's sockaddr_storage). */
  static over(bytes: Buffer): PeerAddress {
    return new PeerAddress(undefined, bytes);
  }

  /** @internal Valid bytes of `bytes`: 0 when empty, never more than `bytes` holds. */
  get len(): number {
    return PeerAddress.#own(this).#len;
  }
  /** @internal How many bytes `bytes` holds (what recvfrom may fill). */
  get capacity(): number {
    return PeerAddress.#own(this).#cap;
  }

  /** `p` itself when it is a real PeerAddress (getters reached through a look-alike's prototype throw a coded TypeError). */
  static #own(p: unknown): PeerAddress {
    if (typeof p !== 'object' || p === null || !(#len in p)) throw argTypeError('this', 'a PeerAddress', p);
    return p as PeerAddress;
  }

  /** Parses `addr` into this object. */
  set(addr: SocketAddr): this {
    this.#len = encodeAddr(parseAddr(addr), this.bytes);
    this.#decoded = null;
    return this;
  }

  /** Copies `other`'s bytes (no decoding, no allocation). */
  copyFrom(other: PeerAddress): this {
    const o = validPeer(other, 'other');
    copyBytes(this.bytes, 0, o.bytes, o.#len);
    this.#len = o.#len;
    this.#decoded = o.#decoded;
    return this;
  }

  /** @internal The kernel wrote `len` bytes into `bytes`. */
  filled(len: number): void {
    this.#len = len < this.#cap ? len : this.#cap;
    this.#decoded = null;
  }

  /** No address (never filled, or the socket is connected and the kernel gave none). */
  isEmpty(): boolean {
    return this.#len === 0;
  }

  /** Same family, address and port (and IPv6 flow and scope): compared as bytes. */
  equals(other: PeerAddress): boolean {
    if (!(other instanceof PeerAddress) || !(#len in other)) return false;
    return this.#len === other.#len && this.bytes.compare(other.bytes, 0, other.#len, 0, this.#len) === 0;
  }

  #info(): AddressInfo {
    if (this.#len === 0) throw argTypeError('peer', 'a filled PeerAddress', 'an empty PeerAddress');
    return (this.#decoded ??= decodeAddr(this.bytes));
  }
  /** The IP address, decoded (and cached) on first use. */
  get address(): string {
    return PeerAddress.#own(this).#info().address;
  }
  /** The port. */
  get port(): number {
    return PeerAddress.#own(this).#info().port;
  }
  /** 'IPv4' or 'IPv6'. */
  get family(): 'IPv4' | 'IPv6' {
    return PeerAddress.#own(this).#info().family;
  }
  /** As Node's AddressInfo (a new object). */
  toJSON(): AddressInfo | null {
    return this.#len === 0 ? null : { ...this.#info() };
  }
  /** `127.0.0.1:53`, `[::1]:53`, or `(empty)`. */
  toString(): string {
    return this.#len === 0 ? '(empty)' : formatAddr(this.#info());
  }
  /** How util.inspect shows it. */
  [inspect.custom](): string {
    return `PeerAddress(${this.toString()})`;
  }

  static {
    isPeer = (v) => typeof v === 'object' && v !== null && #len in v;
    guardThis(this, (o) => #len in o);
  }
}

/** `peer` if it really is a PeerAddress (brand-checked: a look-alike or a Proxy is not). */
export function validPeer(peer: unknown, name = 'peer'): PeerAddress {
  if (!isPeer(peer)) throw argTypeError(name, 'a PeerAddress', peer);
  return peer as PeerAddress;
}

function lock(o: object, keys: string[]): void {
  for (const k of keys) Object.defineProperty(o, k, { writable: false, configurable: false });
}

/** The most datagrams one batch holds (Linux's UIO_MAXIOV bounds recvmmsg/sendmmsg's vlen). */
export const MAX_BATCH = 1024;

/**
 * Preallocated slots for recvMany / sendMany: `capacity` datagrams of at most `datagramSize`
 * bytes each, in one buffer (slot i at `offset(i)`), each with a length, a PeerAddress, a
 * truncation flag and (with GRO) a segment size. Nothing is allocated per datagram or per call.
 *
 *   const batch = new DatagramBatch(32, 2048);
 *   const n = socket.recvMany(batch);            // null: nothing queued
 *   for (let i = 0; i < (n ?? 0); i++) {
 *     const view = batch.slot(i);                // preallocated view of the whole slot
 *     // the datagram is view[0 .. batch.lengthOf(i)), from batch.peer(i)
 *     batch.setLength(i, batch.lengthOf(i));     // echo it back in place...
 *   }
 *   socket.sendMany(batch, n ?? 0);              // ...to the same peers
 */
export class DatagramBatch {
  /** How many datagrams one call can move. */
  readonly capacity: number;
  /** The bytes of each slot (longer datagrams are truncated). */
  readonly datagramSize: number;
  /** Every slot's bytes: slot i is `buffer[offset(i) .. offset(i) + datagramSize)`. Pinned. */
  readonly buffer: Buffer;
  /** How many slots the last recvMany filled (sendMany does not change it). */
  length = 0;
  /** @internal */ readonly lengths: Uint32Array;
  /** @internal */ readonly flags: Uint8Array;
  /** @internal */ readonly strides: Uint32Array;
  /** @internal One sockaddr_storage per slot, pinned; peers[i] is a view of slot i. */
  readonly addrs: Buffer;
  /** @internal The bytes of one slot of `addrs`. */
  readonly addrSize: number;
  /** @internal */ readonly peers: readonly PeerAddress[];
  /** @internal */ readonly views: readonly Buffer[];
  /** @internal The socket seam's native layout over this memory (msghdr arrays), made on first use. */
  native: unknown = null;

  /** `capacity` slots (1 to 1024) of `datagramSize` bytes (1 to 65535), allocated once. */
  constructor(capacity = 32, datagramSize = 2048) {
    this.capacity = validInteger(capacity, 'capacity', 1, MAX_BATCH);
    this.datagramSize = validInteger(datagramSize, 'datagramSize', 1, 65535);
    this.buffer = pinnedBuffer(this.capacity * this.datagramSize);
    this.lengths = new Uint32Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    this.strides = new Uint32Array(this.capacity);
    const ss = storageSize();
    this.addrSize = ss;
    this.addrs = pinnedBuffer(this.capacity * ss);
    const peers: PeerAddress[] = [];
    const views: Buffer[] = [];
    for (let i = 0; i < this.capacity; i++) {
      peers.push(PeerAddress.over(this.addrs.subarray(i * ss, (i + 1) * ss)));
      views.push(this.buffer.subarray(i * this.datagramSize, (i + 1) * this.datagramSize));
    }
    this.peers = Object.freeze(peers);
    this.views = Object.freeze(views);
    // The memory the kernel is pointed at can never be swapped for something smaller.
    lock(this, ['capacity', 'datagramSize', 'buffer', 'lengths', 'flags', 'strides', 'addrs', 'addrSize', 'peers', 'views']);
  }

  #slot(i: unknown): number {
    return validInteger(i, 'i', 0, this.capacity - 1);
  }
  /** Where slot i starts in `buffer`. */
  offset(i: number): number {
    return this.#slot(i) * this.datagramSize;
  }
  /** The whole of slot i (a preallocated view: no allocation). */
  slot(i: number): Buffer {
    return this.views[this.#slot(i)]!;
  }
  /** Slot i's datagram as a new view of its bytes (allocates; `slot(i)` and `lengthOf(i)` do not). */
  data(i: number): Buffer {
    const s = this.#slot(i);
    return this.views[s]!.subarray(0, this.lengths[s]!);
  }
  /** Bytes in slot i: received by recvMany, or set for sendMany. */
  lengthOf(i: number): number {
    return this.lengths[this.#slot(i)]!;
  }
  /** Sets how many bytes of slot i sendMany sends. */
  setLength(i: number, n: number): void {
    const s = this.#slot(i);
    this.lengths[s] = validInteger(n, 'n', 0, this.datagramSize);
  }
  /** Slot i's peer: where the datagram came from, or where sendMany sends it (empty: the connected peer). */
  peer(i: number): PeerAddress {
    return this.peers[this.#slot(i)]!;
  }
  /** The datagram in slot i was longer than `datagramSize`: the rest was discarded. */
  truncated(i: number): boolean {
    return (this.flags[this.#slot(i)]! & 1) !== 0;
  }
  /**
   * With GRO (`socket.setGro(true)`), slot i may hold several datagrams of this size back to back
   * (the last one maybe shorter); otherwise it equals lengthOf(i).
   */
  segmentSize(i: number): number {
    return this.strides[this.#slot(i)]!;
  }
  /** How util.inspect shows it. */
  [inspect.custom](): string {
    return `DatagramBatch(${this.length}/${this.capacity} x ${this.datagramSize} B)`;
  }
  #brand = true;
  static {
    isBatch = (v) => typeof v === 'object' && v !== null && #brand in v;
    guardThis(this, (o) => #brand in o);
  }
}

export function validBatch(batch: unknown): DatagramBatch {
  if (!isBatch(batch)) throw argTypeError('batch', 'a DatagramBatch', batch);
  return batch as DatagramBatch;
}
