// Handing sockets to and from node:net. The fd moves, it is never shared: into Node, the metal-io
// object gives it up (deregistered, left closed, fd open) and Node owns it; from Node, metal-io
// takes a duplicate (F_DUPFD_CLOEXEC) and destroys Node's side, which closes only Node's copy, so
// libuv stops polling it and never closes ours.
import { Socket, Server, createServer } from 'node:net';
import { linkSync, renameSync } from 'node:fs';
import { constant, fn } from '../sys/os.js';
import { errno } from '../sys/ffi.js';
import { sock } from './sockapi.js';
import { systemError } from '../errors.js';
import { argTypeError } from '../validators.js';

function unsupportedHere(what: string): Error {
  return Object.assign(new Error(`metal-io: ${what} needs fds (Unix); Node's handles on Windows are not sockets it can hand over`), { code: 'ERR_METAL_IO_UNSUPPORTED' });
}

function invalidState(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_INVALID_STATE' });
}

/** The fd libuv holds for a node:net Socket or Server (its handle's `fd`), checked. */
function nodeFd(o: Socket | Server, what: string): number {
  if (sock().windows) throw unsupportedHere(what);
  const handle = (o as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) throw invalidState(`${what}: the node:net object has no open fd (not connected or listening, or already closed)`);
  return fd;
}

/** A close-on-exec duplicate of `fd` (fcntl F_DUPFD_CLOEXEC). */
function dupFd(fd: number): number {
  const n = fn('fcntl')(fd, constant('F_DUPFD_CLOEXEC'), 'int', 0);
  if (n === -1) throw systemError('fcntl', errno());
  return n;
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
  if (socket.readableLength > 0) throw invalidState(`fromNodeSocket: node:net has ${socket.readableLength} bytes read and not consumed; read them (socket.read()) first`);
  if (socket.writableLength > 0) throw invalidState(`fromNodeSocket: node:net has ${socket.writableLength} bytes not yet written; wait for 'drain' first`);
  const mine = dupFd(fd);
  socket.destroy();
  return mine;
}

/** Takes the fd of a listening node:net Server: duplicates it and closes the Server. */
export function takeFromNodeServer(server: unknown): number {
  if (!(server instanceof Server)) throw argTypeError('server', 'an instance of net.Server', server);
  const fd = nodeFd(server, 'fromNodeServer');
  const mine = dupFd(fd);
  // libuv unlinks a Unix socket's path when its server closes: keep the name with a hard link and
  // put it back, so clients still find the listener at its path.
  const path = server.address();
  let keep: string | null = null;
  if (typeof path === 'string' && path.startsWith('/')) {
    keep = `${path}.metal-io-${process.pid}`;
    try { linkSync(path, keep); } catch { keep = null; }
  }
  server.close();
  if (keep) { try { renameSync(keep, path as string); } catch { /* the name is gone: the socket still works by fd */ } }
  return mine;
}

/** Throws where handing over cannot work (Windows), before anything is given up. */
export function checkHandover(what: string): void { if (sock().windows) throw unsupportedHere(what); }

/** A node:net Socket owning `fd` (a connected stream socket given up with intoRawFd). */
export function nodeSocketOf(fd: number): Socket {
  try { return new Socket({ fd, readable: true, writable: true }); } catch (e) { sock().close(fd); throw e; }
}

/** A node:net Server listening on `fd` (a listening socket given up with intoRawFd). */
export function nodeServerOf(fd: number, onConnection?: (socket: Socket) => void): Server {
  if (onConnection !== undefined && typeof onConnection !== 'function') { sock().close(fd); throw argTypeError('onConnection', 'of type function', onConnection); }
  const server = createServer(onConnection);
  try { server.listen({ fd }); } catch (e) { sock().close(fd); throw e; }
  return server;
}
