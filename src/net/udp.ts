// UdpSocket (mio's net::UdpSocket).
import { constant, layout } from '../sys/os.js';
import { systemError } from '../errors.js';
import { parseAddr, parseIPv4, parseIPv6, encodeAddr, decodeAddr, type AddressInfo, type SocketAddr } from './addr.js';
import { SocketBase, scratch, adoptFd, setByteOrIntOpt, SEND_FLAGS, sendToScratch, recvFromScratch } from './socket.js';
import { DATAGRAM } from '../io-source.js';
import { boundSocket, validTtl, calls } from './tcp.js';
import { sock } from './sockapi.js';
import { describe, validInteger, invalidArg } from '../validators.js';


function v4(addr: unknown, what: string): Uint8Array {
  const b = typeof addr === 'string' ? parseIPv4(addr) : null;
  if (!b) throw invalidArg(`${what} must be an IPv4 address string, got ${typeof addr === 'string' ? `'${addr}'` : describe(addr)}`);
  return b;
}
function v6(addr: unknown, what: string): Uint8Array {
  const b = typeof addr === 'string' ? parseIPv6(addr) : null;
  if (!b) throw invalidArg(`${what} must be an IPv6 address string, got ${typeof addr === 'string' ? `'${addr}'` : describe(addr)}`);
  return b;
}

/** A non-blocking UDP socket. */
export class UdpSocket extends SocketBase {
  private constructor(fd: number) { super(fd, 'UdpSocket'); }

  /** Binds to `addr` ("127.0.0.1:0" for any port). */
  static override bind(addr: SocketAddr): UdpSocket {
    return new UdpSocket(boundSocket(parseAddr(addr), constant('SOCK_DGRAM'), () => {}));
  }

  static fromFd(fd: number): UdpSocket { return new UdpSocket(adoptFd(fd)); }

  /** Sends one datagram (`buf`, or its `offset`/`length` part) to `addr`: bytes sent, or null when it would block. */
  sendTo(buf: ArrayBufferView, addr: SocketAddr, offset?: number, length?: number): number | null {
    const a = parseAddr(addr);
    sendToScratch.len = encodeAddr(a, scratch.addr);
    return this.transfer('sendto', sendToScratch.call, buf, offset, length, SEND_FLAGS(), DATAGRAM);
  }

  /** Receives one datagram into `buf` (or its `offset`/`length` part): [bytes, sender], or null when none is queued. */
  recvFrom(buf: ArrayBufferView, offset?: number, length?: number): [number, AddressInfo] | null { return this.from(buf, offset, length, 0); }
  /** Like recvFrom, leaving the datagram queued (MSG_PEEK). */
  peekFrom(buf: ArrayBufferView, offset?: number, length?: number): [number, AddressInfo] | null { return this.from(buf, offset, length, constant('MSG_PEEK')); }

  private from(buf: unknown, offset: unknown, length: unknown, flags: number): [number, AddressInfo] | null {
    const n = this.transfer('recvfrom', recvFromScratch, buf, offset, length, flags, DATAGRAM);
    return n === null ? null : [n, decodeAddr(scratch.addr)];
  }

  /** Sets the default peer: send/recv then talk to it only. */
  connect(addr: SocketAddr): void {
    const a = parseAddr(addr);
    const fd = this.io.checkOpen('connect');
    const len = encodeAddr(a, scratch.addr);
    if (sock().connect(fd, scratch.addr, len) !== 0) throw systemError('connect', sock().errno(), a.text);
  }

  /** Sends one datagram to the connected peer. */
  send(buf: ArrayBufferView, offset?: number, length?: number): number | null { const k = calls(); return this.transfer('send', k.send, buf, offset, length, k.sendFlags, DATAGRAM); }

  /** Receives one datagram from the connected peer. */
  recv(buf: ArrayBufferView, offset?: number, length?: number): number | null { return this.transfer('recv', calls().recv, buf, offset, length, 0, DATAGRAM); }
  /** Like recv, leaving the datagram queued (MSG_PEEK). */
  peek(buf: ArrayBufferView, offset?: number, length?: number): number | null { return this.transfer('recv', calls().recv, buf, offset, length, constant('MSG_PEEK'), DATAGRAM); }

  localAddr(): AddressInfo { this.name('getsockname'); return decodeAddr(scratch.addr); }
  /** The connected peer; ENOTCONN when not connected. */
  peerAddr(): AddressInfo { this.name('getpeername'); return decodeAddr(scratch.addr); }

  setBroadcast(on: boolean): void { this.setOpt(constant('SOL_SOCKET'), constant('SO_BROADCAST'), on ? 1 : 0); }
  broadcast(): boolean { return this.intOpt(constant('SOL_SOCKET'), constant('SO_BROADCAST')) !== 0; }
  setTtl(ttl: number): void { this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl)); }
  ttl(): number { return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL')); }
  /** Whether this IPv6 socket is IPv6-only (IPV6_V6ONLY). */
  onlyV6(): boolean { return this.intOpt(constant('IPPROTO_IPV6'), constant('IPV6_V6ONLY')) !== 0; }

  setMulticastLoopV4(on: boolean): void { setByteOrIntOpt(this.io.checkOpen('setsockopt'), constant('IPPROTO_IP'), constant('IP_MULTICAST_LOOP'), on ? 1 : 0); }
  multicastLoopV4(): boolean { return this.intOpt(constant('IPPROTO_IP'), constant('IP_MULTICAST_LOOP')) !== 0; }
  setMulticastTtlV4(ttl: number): void {
    validInteger(ttl, 'ttl', 0, 255);
    setByteOrIntOpt(this.io.checkOpen('setsockopt'), constant('IPPROTO_IP'), constant('IP_MULTICAST_TTL'), ttl);
  }
  multicastTtlV4(): number { return this.intOpt(constant('IPPROTO_IP'), constant('IP_MULTICAST_TTL')); }
  setMulticastLoopV6(on: boolean): void { this.setOpt(constant('IPPROTO_IPV6'), constant('IPV6_MULTICAST_LOOP'), on ? 1 : 0); }
  multicastLoopV6(): boolean { return this.intOpt(constant('IPPROTO_IPV6'), constant('IPV6_MULTICAST_LOOP')) !== 0; }

  /** Joins an IPv4 group on the interface with address `iface` ('0.0.0.0': the default). */
  joinMulticastV4(group: string, iface: string): void { this.mreq4(constant('IP_ADD_MEMBERSHIP'), group, iface); }
  leaveMulticastV4(group: string, iface: string): void { this.mreq4(constant('IP_DROP_MEMBERSHIP'), group, iface); }
  /** Joins an IPv6 group on interface index `iface` (0: the default). */
  joinMulticastV6(group: string, iface: number): void { this.mreq6(constant('IPV6_JOIN_GROUP'), group, iface); }
  leaveMulticastV6(group: string, iface: number): void { this.mreq6(constant('IPV6_LEAVE_GROUP'), group, iface); }

  private mreq4(opt: number, group: string, iface: string): void {
    const l = layout('ip_mreq');
    const m = Buffer.alloc(l.size);
    m.set(v4(group, 'group'), l.fields.imr_multiaddr!.offset);
    m.set(v4(iface, 'iface'), l.fields.imr_interface!.offset);
    if (sock().setsockopt(this.io.checkOpen('setsockopt'), constant('IPPROTO_IP'), opt, m, l.size) !== 0) throw systemError('setsockopt', sock().errno());
  }

  private mreq6(opt: number, group: string, iface: number): void {
    validInteger(iface, 'iface', 0, 0xffffffff);
    const l = layout('ipv6_mreq');
    const m = Buffer.alloc(l.size);
    m.set(v6(group, 'group'), l.fields.ipv6mr_multiaddr!.offset);
    m.writeUInt32LE(iface, l.fields.ipv6mr_interface!.offset);
    if (sock().setsockopt(this.io.checkOpen('setsockopt'), constant('IPPROTO_IPV6'), opt, m, l.size) !== 0) throw systemError('setsockopt', sock().errno());
  }
}

