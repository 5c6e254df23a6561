// Batched datagram I/O on Unix: recvmmsg(2)/sendmmsg(2) on Linux and Android (one call for a whole
// BatchMemory), recvmsg(2)/sendmsg(2) in a loop elsewhere; UDP GSO (a UDP_SEGMENT control
// message on sendmsg) and GRO (the UDP_GRO control message recvmsg returns) where Linux has them.
//
// Memory: each BatchMemory gets, on first use, pinned arrays of message headers (mmsghdr on
// Linux, msghdr elsewhere), iovecs and control buffers, pointing at the batch's own pinned data and
// sockaddr_storage slots. The kernel uses them only during a call. Every field the kernel reads is
// rewritten before each call from the batch's checked state (lengths clamped to the slot size,
// address lengths to the storage size), so nothing a caller changes can point it past the batch.

import type { StructInfo } from '../../../generated/types.js';
import { addressOf, pinnedWords, putWord } from '../ffi.js';
import { constant, fn, has, layout, mod } from '../os.js';
import type { BatchMemory, PeerBytes } from '../sock-api.js';

interface Layout {
  mmsg: boolean; // recvmmsg/sendmmsg exist here
  hdr: number; // bytes per message header (mmsghdr or msghdr)
  name: number;
  namelen: number;
  iov: number;
  iovlen: number;
  control: number;
  controllen: number;
  flags: number;
  msglen: number;
  ptr: number; // pointer size
  iovSize: number;
  iovBase: number;
  iovLen: number;
  cmsgHdr: number; // CMSG_ALIGN(sizeof(struct cmsghdr)): where CMSG_DATA starts
  cmsgLen: StructInfo['fields'][string];
  cmsgLevel: number;
  cmsgType: number;
  ctrl: number; // control bytes per slot: CMSG_SPACE(sizeof(int)), rounded up
  MSG_TRUNC: number;
  SOL_UDP: number;
  UDP_GRO: number;
  UDP_SEGMENT: number;
}

/**
 * METAL_IO_DATAGRAM_FALLBACK=1 (a testing switch, like METAL_IO_BACKEND) takes the path of an OS
 * without recvmmsg/sendmmsg and UDP GSO: recvmsg/sendmsg in a loop, sends segmented in a loop.
 */
export const forcedFallback = process.env.METAL_IO_DATAGRAM_FALLBACK === '1';

let L: Layout | null = null;
function lay(): Layout {
  if (L) return L;
  const mmsg = !forcedFallback && mod.structs.mmsghdr !== undefined && has('recvmmsg') && has('sendmmsg');
  const m = layout('msghdr');
  const iov = layout('iovec');
  const c = layout('cmsghdr');
  const f = (n: string) => m.fields[n]!.offset;
  const ptr = mod.target.pointerSize;
  const align = (n: number) => Math.ceil(n / ptr) * ptr;
  return (L = {
    mmsg,
    hdr: mmsg ? layout('mmsghdr').size : m.size,
    name: f('msg_name'),
    namelen: f('msg_namelen'),
    iov: f('msg_iov'),
    iovlen: f('msg_iovlen'),
    control: f('msg_control'),
    controllen: f('msg_controllen'),
    flags: f('msg_flags'),
    msglen: mmsg ? layout('mmsghdr').fields.msg_len!.offset : -1,
    ptr,
    iovSize: iov.size,
    iovBase: iov.fields.iov_base!.offset,
    iovLen: iov.fields.iov_len!.offset,
    cmsgHdr: align(c.size),
    cmsgLen: c.fields.cmsg_len!,
    cmsgLevel: c.fields.cmsg_level!.offset,
    cmsgType: c.fields.cmsg_type!.offset,
    ctrl: align(align(c.size) + 4) + 8,
    MSG_TRUNC: constant('MSG_TRUNC'),
    SOL_UDP: mod.constants.SOL_UDP ?? -1,
    UDP_GRO: mod.constants.UDP_GRO ?? -1,
    UDP_SEGMENT: mod.constants.UDP_SEGMENT ?? -1,
  });
}

/** Writes a pointer or size_t-sized value (little-endian words; every target here is little-endian). */
const put = putWord;

/** The native side of one BatchMemory: headers, iovecs and control buffers over its memory. */
class Native {
  readonly hdrs: Buffer;
  readonly hw: Uint32Array;
  readonly hdrAddr: number;
  readonly iovs: Buffer;
  readonly iw: Uint32Array;
  readonly ctrls: Buffer;
  readonly cw: Uint32Array;
  readonly ctrlAddr: number;
  constructor(b: BatchMemory, l: Layout) {
    const n = b.capacity;
    ({ bytes: this.hdrs, words: this.hw } = pinnedWords(n * l.hdr));
    ({ bytes: this.iovs, words: this.iw } = pinnedWords(n * l.iovSize));
    ({ bytes: this.ctrls, words: this.cw } = pinnedWords(n * l.ctrl));
    this.hdrAddr = addressOf(this.hdrs);
    this.ctrlAddr = addressOf(this.ctrls);
    const data = addressOf(b.buffer);
    const addrs = addressOf(b.addrs);
    const iovs = addressOf(this.iovs);
    const ss = b.addrSize;
    for (let i = 0; i < n; i++) {
      const h = i * l.hdr;
      put(this.hw, h + l.name, addrs + i * ss, l.ptr);
      put(this.hw, h + l.iov, iovs + i * l.iovSize, l.ptr);
      put(this.hw, h + l.iovlen, 1, l.ptr === 8 && mod.structs.msghdr!.fields.msg_iovlen!.size === 8 ? 8 : 4);
      put(this.iw, i * l.iovSize + l.iovBase, data + i * b.datagramSize, l.ptr);
    }
  }
}

function native(b: BatchMemory): Native {
  return (b.native as Native | null) ?? ((b.native = new Native(b, lay())) as Native);
}

const controllenSize = () => mod.structs.msghdr!.fields.msg_controllen!.size;

/**
 * Receives up to `max` (1 to batch.capacity) datagrams. Returns the count (>= 1), or -1 with errno
 * set (EAGAIN: nothing queued). Fills lengths, peers, truncation flags and GRO segment sizes.
 */
export function recvBatch(fd: number, b: BatchMemory, max: number): number {
  const l = lay();
  const nv = native(b);
  const hw = nv.hw;
  const n = max < b.capacity ? max : b.capacity;
  const ss = b.addrSize;
  const cs = controllenSize();
  for (let i = 0; i < n; i++) {
    const h = i * l.hdr;
    hw[(h + l.namelen) >>> 2] = ss;
    put(hw, h + l.control, nv.ctrlAddr + i * l.ctrl, l.ptr);
    put(hw, h + l.controllen, l.ctrl, cs);
    hw[(h + l.flags) >>> 2] = 0;
    put(nv.iw, i * l.iovSize + l.iovLen, b.datagramSize, l.ptr);
  }
  let got: number;
  if (l.mmsg) {
    got = fn('recvmmsg')(fd, nv.hdrAddr, n, 0, 0);
    if (got < 0) return -1;
    for (let i = 0; i < got; i++) b.lengths[i] = hw[(i * l.hdr + l.msglen) >>> 2]!;
  } else {
    const recvmsg = fn('recvmsg');
    for (got = 0; got < n; got++) {
      const r = Number(recvmsg(fd, nv.hdrAddr + got * l.hdr, 0));
      if (r < 0) {
        if (got === 0) return -1;
        break;
      }
      b.lengths[got] = r;
    }
  }
  for (let i = 0; i < got; i++) {
    const h = i * l.hdr;
    b.peers[i]!.filled(hw[(h + l.namelen) >>> 2]!);
    const flags = hw[(h + l.flags) >>> 2]!;
    b.flags[i] = (flags & l.MSG_TRUNC) !== 0 ? 1 : 0;
    b.strides[i] = groSegment(nv, l, i, hw[(h + l.controllen) >>> 2]!) || b.lengths[i]!;
  }
  return got;
}

/** The UDP_GRO segment size in slot i's control data, or 0. */
function groSegment(nv: Native, l: Layout, i: number, controllen: number): number {
  if (l.UDP_GRO < 0 || controllen < l.cmsgHdr + 4) return 0;
  const c = i * l.ctrl;
  const w = nv.cw;
  if (w[(c + l.cmsgLevel) >>> 2] !== l.SOL_UDP || w[(c + l.cmsgType) >>> 2] !== l.UDP_GRO) return 0;
  return w[(c + l.cmsgHdr) >>> 2]!; // an int (the kernel's gso_size)
}

/**
 * Sends slots start..start+count-1 (start + count <= capacity, checked by the caller), each
 * `lengthOf(i)` bytes to `peer(i)` (an empty peer: the connected one). Returns how many were sent
 * (maybe fewer), or -1 with errno set when none was.
 */
export function sendBatch(fd: number, b: BatchMemory, start: number, count: number, flags: number): number {
  const l = lay();
  const nv = native(b);
  const hw = nv.hw;
  const cs = controllenSize();
  for (let i = start; i < start + count; i++) {
    const h = i * l.hdr;
    const len = b.lengths[i]!;
    hw[(h + l.namelen) >>> 2] = b.peers[i]!.len;
    put(hw, h + l.control, 0, l.ptr);
    put(hw, h + l.controllen, 0, cs);
    hw[(h + l.flags) >>> 2] = 0;
    put(nv.iw, i * l.iovSize + l.iovLen, len < b.datagramSize ? len : b.datagramSize, l.ptr);
  }
  const first = nv.hdrAddr + start * l.hdr;
  if (l.mmsg) return fn('sendmmsg')(fd, first, count, flags);
  const sendmsg = fn('sendmsg');
  let sent = 0;
  for (; sent < count; sent++) {
    if (Number(sendmsg(fd, first + sent * l.hdr, flags)) < 0) return sent === 0 ? -1 : sent;
  }
  return sent;
}

// One message header, iovec and control buffer for GSO sends (one call at a time per thread).
let gso: {
  hdr: Buffer;
  hw: Uint32Array;
  hwords: number;
  hdrAddr: number;
  iov: Buffer;
  iw: Uint32Array;
  iovAddr: number;
  ctrl: Buffer;
  cw: Uint32Array;
  cwords: number;
  ctrlAddr: number;
} | null = null;

/** Whether this target can send with UDP_SEGMENT (the kernel may still refuse: ENOPROTOOPT, EIO). */
export function gsoAvailable(): boolean {
  return !forcedFallback && lay().UDP_SEGMENT >= 0;
}

/**
 * One sendmsg(2) of `count` bytes at `addr` as datagrams of `segment` bytes (UDP_SEGMENT), to
 * `peer` (null: the connected peer). Returns bytes sent or -1 with errno set.
 */
export function sendSegmented(fd: number, addr: number, count: number, segment: number, peer: PeerBytes | null, flags: number): number {
  const l = lay();
  if (!gso) {
    const h = pinnedWords(layout('msghdr').size);
    const v = pinnedWords(l.iovSize);
    const c = pinnedWords(l.ctrl);
    gso = {
      hdr: h.bytes,
      hw: h.words,
      hwords: (layout('msghdr').size + 3) >>> 2,
      hdrAddr: addressOf(h.bytes),
      iov: v.bytes,
      iw: v.words,
      iovAddr: addressOf(v.bytes),
      ctrl: c.bytes,
      cw: c.words,
      cwords: (l.ctrl + 3) >>> 2,
      ctrlAddr: addressOf(c.bytes),
    };
  }
  const g = gso;
  const cs = controllenSize();
  // Element writes only (no Buffer or %TypedArray% method a caller could patch runs here).
  for (let i = 0; i < g.hwords; i++) g.hw[i] = 0;
  for (let i = 0; i < g.cwords; i++) g.cw[i] = 0;
  put(g.iw, l.iovBase, addr, l.ptr);
  put(g.iw, l.iovLen, count, l.ptr);
  if (peer && peer.len > 0) {
    put(g.hw, l.name, addressOf(peer.bytes), l.ptr);
    g.hw[l.namelen >>> 2] = peer.len;
  }
  put(g.hw, l.iov, g.iovAddr, l.ptr);
  put(g.hw, l.iovlen, 1, mod.structs.msghdr!.fields.msg_iovlen!.size);
  // One cmsg: level SOL_UDP, type UDP_SEGMENT, a uint16_t segment size.
  put(g.cw, l.cmsgLen.offset, l.cmsgHdr + 2, l.cmsgLen.size);
  g.cw[l.cmsgLevel >>> 2] = l.SOL_UDP;
  g.cw[l.cmsgType >>> 2] = l.UDP_SEGMENT;
  g.cw[l.cmsgHdr >>> 2] = segment; // a uint16_t, little-endian: the low half of a zeroed word
  put(g.hw, l.control, g.ctrlAddr, l.ptr);
  put(g.hw, l.controllen, l.ctrl - 8, cs); // CMSG_SPACE(sizeof(uint16_t))
  return Number(fn('sendmsg')(fd, g.hdrAddr, flags));
}
