// Socket addresses: parse what users write ("127.0.0.1:8080", "[::1]:8080", { address, port },
// node:net SocketAddress), encode sockaddr_in / sockaddr_in6 at the generated offsets (with the BSD
// sin_len byte where the target has one), and decode them back into Node's AddressInfo shape.
import { SocketAddress } from 'node:net';
import type { StructInfo } from '../../generated/types.js';
import { describe } from '../interest.js';
import { copyBytes, getUint, putUint, zeroBytes } from '../sys/ffi.js';
import { constant, layout } from '../sys/os.js';
import { invalidArg, validInteger } from '../validators.js';

const UINT32_MAX = 0xffffffff;

/** An address as metal-io returns it: node's AddressInfo, plus flowinfo and scopeId for IPv6. */
export interface AddressInfo {
  /** '127.0.0.1', '::1'. */
  address: string;
  /** 'IPv4' or 'IPv6'. */
  family: 'IPv4' | 'IPv6';
  /** The port. */
  port: number;
  /** IPv6 flow information. */
  flowinfo?: number;
  /** IPv6 scope (interface index). */
  scopeId?: number;
}

/** Anything an address argument accepts. */
export type SocketAddr =
  | string
  | {
      /** A numeric IPv4 or IPv6 address (names are not resolved). */
      address: string;
      /** The port, 0 to 65535. */
      port: number;
      /** Ignored: the family follows the address. */
      family?: string;
      /** IPv6 flow information. */
      flowinfo?: number;
      /** IPv6 flow label (node:net's name for flowinfo). */
      flowlabel?: number;
      /** IPv6 scope (interface index). */
      scopeId?: number;
    }
  | SocketAddress;

export interface ParsedAddr {
  v6: boolean;
  bytes: Uint8Array;
  port: number;
  flowinfo: number;
  scopeId: number;
  text: string;
  host: string;
}

function bad(input: unknown, why: string): TypeError {
  return invalidArg(`invalid socket address ${typeof input === 'string' ? `'${input}'` : describe(input)}: ${why}`);
}

export function parseIPv4(s: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    if (part.length > 1 && part[0] === '0') return null; // no octal-looking parts
    const v = Number(part);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** RFC 4291 text to 16 bytes, with `::` and a trailing dotted IPv4; null when malformed. */
export function parseIPv6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length < 2) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  // A dotted IPv4 may only end the whole address (so never before a '::').
  const groups = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.includes('.')) {
        if (!last || i !== items.length - 1) return null;
        const v4 = parseIPv4(it);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!head || !tail) return null;
  if (halves.length === 1 && head.length !== 8) return null;
  if (halves.length === 2 && head.length + tail.length > 7) return null;
  const all = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** RFC 5952 text (as inet_ntop and Node print it): '::1', '::ffff:127.0.0.1', 'fe80::1'. */
export function formatIPv6(b: Uint8Array, o = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

function validPort(port: unknown, input: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw bad(input, `port must be an integer from 0 to 65535, got ${String(port)}`);
  return port;
}

function fromHostPort(host: string, port: number, input: unknown, flowinfo = 0, scopeId = 0): ParsedAddr {
  let scope = scopeId;
  let h = host;
  const pct = h.indexOf('%');
  if (pct >= 0) {
    const zone = h.slice(pct + 1);
    if (!/^\d+$/.test(zone)) throw bad(input, `only numeric IPv6 zone ids are supported, got '%${zone}'`);
    scope = validInteger(Number(zone), 'scopeId', 0, UINT32_MAX);
    h = h.slice(0, pct);
  }
  const v4 = pct < 0 ? parseIPv4(h) : null;
  if (v4) return { v6: false, bytes: v4, port, flowinfo: 0, scopeId: 0, text: `${h}:${port}`, host: h };
  const v6 = parseIPv6(h);
  if (v6) return { v6: true, bytes: v6, port, flowinfo, scopeId: scope, text: `[${host}]:${port}`, host };
  throw bad(input, `'${host}' is not an IPv4 or IPv6 address (names are not resolved)`);
}

/** Parses any accepted address form; throws TypeError naming the input when malformed. */
export function parseAddr(input: unknown): ParsedAddr {
  if (typeof input === 'string') {
    // The port as people write it: 0, or no leading zero ("0080" is not 80).
    const m = /^\[([^\]]+)\]:(0|[1-9]\d{0,4})$/.exec(input) ?? /^([^:[\]]+):(0|[1-9]\d{0,4})$/.exec(input);
    if (!m) throw bad(input, 'expected "host:port" or "[v6]:port"');
    return fromHostPort(m[1]!, validPort(Number(m[2]), input), input);
  }
  if (input instanceof SocketAddress) return fromHostPort(input.address, input.port, input, input.flowlabel ?? 0);
  if (input && typeof input === 'object') {
    // Each property is read once, then checked as a primitive: no valueOf/toString is ever called,
    // and a getter cannot hand one value to the check and another to the encoder.
    const o = input as { address?: unknown; port?: unknown; flowinfo?: unknown; flowlabel?: unknown; scopeId?: unknown };
    const address = o.address;
    if (typeof address === 'string') {
      const port = o.port;
      const flowinfo = o.flowinfo;
      const flowlabel = flowinfo === undefined ? o.flowlabel : undefined;
      const scopeId = o.scopeId;
      const flow =
        flowinfo !== undefined
          ? validInteger(flowinfo, 'flowinfo', 0, UINT32_MAX)
          : flowlabel !== undefined
            ? validInteger(flowlabel, 'flowlabel', 0, UINT32_MAX)
            : 0;
      const scope = scopeId !== undefined ? validInteger(scopeId, 'scopeId', 0, UINT32_MAX) : 0;
      return fromHostPort(address, validPort(port, input), input, flow, scope);
    }
  }
  throw bad(input, 'expected a string, { address, port } or a net.SocketAddress');
}

// ---- sockaddr encoding ------------------------------------------------------------------------

interface Layouts {
  in4: StructInfo;
  in6: StructInfo;
  storage: StructInfo;
  AF_INET: number;
  AF_INET6: number;
}
let L: Layouts | null = null;
function layouts(): Layouts {
  return (L ??= {
    in4: layout('sockaddr_in'),
    in6: layout('sockaddr_in6'),
    storage: layout('sockaddr_storage'),
    AF_INET: constant('AF_INET'),
    AF_INET6: constant('AF_INET6'),
  });
}
export function storageSize(): number {
  return layouts().storage.size;
}

// Element reads and writes only (putUint/getUint): no Buffer or %TypedArray% method a caller could
// patch runs while a sockaddr is encoded for a call or decoded after one.
function writeFamily(buf: Buffer, s: StructInfo, prefix: string, family: number): void {
  const len = s.fields[`${prefix}_len`];
  if (len) buf[len.offset] = s.size; // BSD: the length byte
  const fam = s.fields[`${prefix}_family`]!;
  putUint(buf, fam.offset, family, fam.size, false);
}

/** Writes `a` as a sockaddr into `buf` (zeroed first); returns its length. */
export function encodeAddr(a: ParsedAddr, buf: Buffer): number {
  const l = layouts();
  zeroBytes(buf, 0, l.storage.size);
  if (!a.v6) {
    writeFamily(buf, l.in4, 'sin', l.AF_INET);
    putUint(buf, l.in4.fields.sin_port!.offset, a.port, 2, true);
    copyBytes(buf, l.in4.fields.sin_addr!.offset, a.bytes, 4);
    return l.in4.size;
  }
  writeFamily(buf, l.in6, 'sin6', l.AF_INET6);
  putUint(buf, l.in6.fields.sin6_port!.offset, a.port, 2, true);
  putUint(buf, l.in6.fields.sin6_flowinfo!.offset, a.flowinfo >>> 0, 4, true);
  copyBytes(buf, l.in6.fields.sin6_addr!.offset, a.bytes, 16);
  putUint(buf, l.in6.fields.sin6_scope_id!.offset, a.scopeId >>> 0, 4, false);
  return l.in6.size;
}

/** The address family of a sockaddr in `buf`. */
export function familyOf(buf: Buffer): number {
  const f = layouts().in4.fields.sin_family!;
  return getUint(buf, f.offset, f.size, false);
}

/** Reads a sockaddr_in / sockaddr_in6 back into AddressInfo. */
export function decodeAddr(buf: Buffer): AddressInfo {
  const l = layouts();
  const fam = familyOf(buf);
  if (fam === l.AF_INET) {
    const o = l.in4.fields.sin_addr!.offset;
    return {
      address: `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`,
      family: 'IPv4',
      port: getUint(buf, l.in4.fields.sin_port!.offset, 2, true),
    };
  }
  if (fam === l.AF_INET6) {
    const o = l.in6.fields.sin6_addr!.offset;
    return {
      address: formatIPv6(buf, o),
      family: 'IPv6',
      port: getUint(buf, l.in6.fields.sin6_port!.offset, 2, true),
      flowinfo: getUint(buf, l.in6.fields.sin6_flowinfo!.offset, 4, true),
      scopeId: getUint(buf, l.in6.fields.sin6_scope_id!.offset, 4, false),
    };
  }
  throw invalidArg(`not an IP socket address (family ${fam})`);
}

/** `127.0.0.1:80` / `[::1]:80`, for error messages. */
export function formatAddr(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
