// Handing sockets to and from node:net. The fd moves, it is never shared: into Node, the metal-io
// object gives it up (deregistered, left closed, fd open) and Node owns it; from Node, metal-io
// takes a duplicate (F_DUPFD_CLOEXEC) and destroys Node's side, which closes only Node's copy, so
// libuv stops polling it and never closes ours.

import { createSocket, Socket as DgramSocket } from 'node:dgram';
import { linkSync, renameSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { sock } from '../sys/net.js';
import { unsupportedError } from '../sys/unsupported.js';
import { argTypeError } from '../validators.js';

function unsupportedHere(what: string): Error {
  return unsupportedError(`metal-io: ${what} needs fds (Unix); Node's handles on Windows are not sockets it can hand over`);
}

function invalidState(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_INVALID_STATE' });
}

/** The fd libuv holds for a node:net Socket or Server (its handle's `fd`), checked. */
function nodeFd(o: Socket | Server, what: string): number {
  if (!sock().fds) throw unsupportedHere(what);
  const handle = (o as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0)
    throw invalidState(`${what}: the node:net object has no open fd (not connected or listening, or already closed)`);
  return fd;
}

/**
 * Takes the fd of a connected node:net Socket: pauses it (libuv stops reading), refuses when Node
 * still holds bytes that would be lost (read them first, or let writes drain), duplicates the fd and
 * destroys the Socket. Returns the duplicate, which the caller adopts.
 */
export function takeFromNodeSocket(socket: unknown): number {
  if (!(socket instanceof Socket)) throw argTypeError('socket', 'an instance of net.Socket', socket);
  const fd = nodeFd(socket, 'fromNodeSocket');
  socket.pause();
  if (socket.readableLength > 0)
    throw invalidState(
      `fromNodeSocket: node:net has ${socket.readableLength} bytes read and not consumed; read them (socket.read()) first`,
    );
  if (socket.writableLength > 0)
    throw invalidState(`fromNodeSocket: node:net has ${socket.writableLength} bytes not yet written; wait for 'drain' first`);
  const mine = sock().duplicate(fd);
  socket.destroy();
  return mine;
}

/** Takes the fd of a listening node:net Server: duplicates it and closes the Server. */
export function takeFromNodeServer(server: unknown): number {
  if (!(server instanceof Server)) throw argTypeError('server', 'an instance of net.Server', server);
  const fd = nodeFd(server, 'fromNodeServer');
  const mine = sock().duplicate(fd);
  // libuv unlinks a Unix socket's path when its server closes: keep the name with a hard link and
  // put it back, so clients still find the listener at its path.
  const path = server.address();
  let keep: string | null = null;
  if (typeof path === 'string' && path.startsWith('/')) {
    keep = `${path}.metal-io-${process.pid}`;
    try {
      linkSync(path, keep);
    } catch {
      keep = null;
    }
  }
  server.close();
  if (keep) {
    try {
      renameSync(keep, path as string);
    } catch {
      /* the name is gone: the socket still works by fd */
    }
  }
  return mine;
}

/** Throws where handing over cannot work (Windows), before anything is given up. */
export function checkHandover(what: string): void {
  if (!sock().fds) throw unsupportedHere(what);
}

/** A node:net Socket owning `fd` (a connected stream socket given up with intoRawFd). */
export function nodeSocketOf(fd: number): Socket {
  try {
    return new Socket({ fd, readable: true, writable: true });
  } catch (e) {
    sock().close(fd);
    throw e;
  }
}

/** A node:net Server listening on `fd` (a listening socket given up with intoRawFd). */
export function nodeServerOf(fd: number, onConnection?: (socket: Socket) => void): Server {
  if (onConnection !== undefined && typeof onConnection !== 'function') {
    sock().close(fd);
    throw argTypeError('onConnection', 'of type function', onConnection);
  }
  const server = createServer(onConnection);
  try {
    server.listen({ fd });
  } catch (e) {
    sock().close(fd);
    throw e;
  }
  return server;
}

/**
 * The fd libuv holds for a dgram.Socket. dgram keeps its handle under a symbol (its `_handle`
 * getter is deprecated and warns): found by the symbol's description, checked.
 */
function dgramFd(socket: DgramSocket): number {
  if (!sock().fds) throw unsupportedHere('fromNodeDgram');
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'state symbol');
  const state = key ? (socket as unknown as Record<symbol, { handle?: { fd?: unknown } | null } | undefined>)[key] : undefined;
  const fd = state?.handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0)
    throw invalidState('fromNodeDgram: the dgram.Socket has no open fd (not bound, or already closed)');
  return fd;
}

/**
 * Takes the fd of a bound dgram.Socket: refuses while sends are queued in Node, duplicates the fd
 * and closes the Socket. Datagrams Node has already read were emitted as 'message'; the rest stay
 * in the kernel's queue for the new owner.
 */
export function takeFromNodeDgram(socket: unknown): number {
  if (!(socket instanceof DgramSocket)) throw argTypeError('socket', 'an instance of dgram.Socket', socket);
  const fd = dgramFd(socket);
  const queued = socket.getSendQueueCount();
  if (queued > 0) throw invalidState(`fromNodeDgram: node:dgram has ${queued} sends queued; wait for their callbacks first`);
  const mine = sock().duplicate(fd);
  socket.close();
  return mine;
}

/** A dgram.Socket owning `fd` (a UDP socket given up with intoRawFd), bound to it at once. */
export function nodeDgramOf(fd: number, type: 'udp4' | 'udp6'): DgramSocket {
  const socket = createSocket(type);
  try {
    socket.bind({ fd });
  } catch (e) {
    socket.close();
    sock().close(fd);
    throw e;
  }
  return socket;
}
