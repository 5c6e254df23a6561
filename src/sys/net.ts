// The socket calls the net types make, one shape for both families (sock-api.ts): BSD sockets
// through libc (sys/unix/net.ts), Winsock through ws2_32 (sys/windows/net.ts). The target's `net`
// (syscalls.yaml, `oses:`) picks one; what differs between them beyond the calls is said by the
// SockApi's capabilities, so the net types above have no platform code.
import { mod } from './os.js';
import type { SockApi } from './sock-api.js';
import { bsd } from './unix/net.js';
import { winsock } from './windows/net.js';

export type { BatchMemory, PeerBytes, SockApi } from './sock-api.js';

let api: SockApi | null = null;
/** The running target's socket API, made on first use (Winsock starts then). */
export function sock(): SockApi {
  return (api ??= mod.target.net === 'winsock' ? winsock() : bsd());
}
