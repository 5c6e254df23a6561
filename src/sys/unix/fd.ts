// File-descriptor helpers shared by the Unix backends and net types (close-on-exec, non-blocking).

import { systemError } from '../errors.js';
import { addressOf, errno, pinnedBuffer, pinnedWords } from '../ffi.js';
import { constant, fn, has, mod } from '../os.js';

const O_NONBLOCK = mod.constants.O_NONBLOCK ?? 0;
const O_CLOEXEC = mod.constants.O_CLOEXEC ?? 0;

/** Where a failed call on a plain fd (a pipe end) leaves its error, and the codes for interrupted and would-block. */
export const fdErrs = {
  errno,
  get EINTR() {
    return mod.constants.EINTR ?? -1;
  },
  get EAGAIN() {
    return mod.constants.EAGAIN ?? -1;
  },
};

/** Throws the Node-style system error for the errno the last call left. */
export function fail(syscall: string, detail?: string): never {
  throw systemError(syscall, errno(), detail);
}

/** close(2); EINTR is treated as closed (Linux, POSIX 2024), other errors are reported. */
export function closeFd(fd: number): void {
  if (fn('close')(fd) === -1) {
    const e = errno();
    if (e !== mod.constants.EINTR) throw systemError('close', e);
  }
}

export function setNonblocking(fd: number, on: boolean): void {
  const fcntl = fn('fcntl');
  const fl = fcntl(fd, constant('F_GETFL'), 'int', 0);
  if (fl === -1) fail('fcntl');
  const next = on ? fl | constant('O_NONBLOCK') : fl & ~constant('O_NONBLOCK');
  if (next !== fl && fcntl(fd, constant('F_SETFL'), 'int', next) === -1) fail('fcntl');
}

export function setCloexec(fd: number): void {
  const fcntl = fn('fcntl');
  const fl = fcntl(fd, constant('F_GETFD'), 'int', 0);
  if (fl === -1) fail('fcntl');
  if ((fl & constant('FD_CLOEXEC')) === 0 && fcntl(fd, constant('F_SETFD'), 'int', fl | constant('FD_CLOEXEC')) === -1) fail('fcntl');
}

/** The fd a creating call (kqueue, port_create) returned, close-on-exec: fails with `syscall` on -1; closed again if fcntl fails. */
export function cloexecFd(syscall: string, fd: number): number {
  if (fd === -1) fail(syscall);
  try {
    setCloexec(fd);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return fd;
}

export function isCloexec(fd: number): boolean {
  const fl = fn('fcntl')(fd, constant('F_GETFD'), 'int', 0);
  if (fl === -1) fail('fcntl');
  return (fl & constant('FD_CLOEXEC')) !== 0;
}

/** A non-blocking, close-on-exec pipe: [read end, write end]. pipe2 where the OS has it, else pipe + fcntl. */
export function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  if (has('pipe2') && O_NONBLOCK && O_CLOEXEC) {
    if (fn('pipe2')(fds, O_NONBLOCK | O_CLOEXEC) === -1) fail('pipe2');
    return [fds[0]!, fds[1]!];
  }
  if (fn('pipe')(fds) === -1) fail('pipe');
  try {
    for (const fd of fds) {
      setCloexec(fd);
      setNonblocking(fd, true);
    }
  } catch (e) {
    closeFd(fds[0]!);
    closeFd(fds[1]!);
    throw e;
  }
  return [fds[0]!, fds[1]!];
}

/** Reads until would-block, discarding: empties a waker pipe or eventfd. */
export function drain(fd: number, scratch: Buffer): void {
  const read = fn('read');
  for (;;) {
    const n = Number(read(fd, scratch, scratch.length));
    if (n > 0 && n === scratch.length) continue;
    if (n >= 0) return;
    const e = errno();
    if (e === mod.constants.EINTR) continue;
    if (e === mod.constants.EAGAIN) return;
    fail('read');
  }
}

export { addressOf, errno, pinnedBuffer, pinnedWords };
