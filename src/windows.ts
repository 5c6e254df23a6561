// metal-io/windows: NamedPipe (mio's windows::NamedPipe), with overlapped I/O completing on the
// Poll's I/O completion port. The Win32 calls, the pinned buffers and their ownership rules live in
// src/sys/windows/named_pipe.ts; this file checks arguments, finds the Poll and keeps its event
// queue in step (events of a token that changed or went away are dropped).

import { describe, type Interest, validInterest } from './interest.js';
import { dropEvents, type Registry, type Source, selectorOf } from './poll.js';
import { needWindows } from './sys/os.js';
import { PipeIo } from './sys/windows/named_pipe.js';
import { type IocpSelector, iocpSelector } from './sys/windows/selector.js';
import { type Token, validToken } from './token.js';
import { bytesOf, guardThis, invalidArg, span, validInteger } from './validators.js';

function wide(name: unknown): Buffer {
  if (typeof name !== 'string' || !name.startsWith('\\\\.\\pipe\\')) {
    throw invalidArg(
      `name must be a pipe name like '\\\\\\\\.\\\\pipe\\\\name', got ${typeof name === 'string' ? `'${name}'` : describe(name)}`,
    );
  }
  return Buffer.from(`${name}\0`, 'utf16le');
}

/** The IOCP selector behind `registry`: a NamedPipe completes on a port, so only that backend takes one. */
function iocpOf(registry: Registry, syscall: string): IocpSelector {
  return iocpSelector(selectorOf(registry), syscall);
}

/**
 * A Windows named pipe end, non-blocking in mio's sense: would-block is null, readiness by events.
 * Like mio's, it makes progress only while registered with a Poll (its completions arrive there).
 */
export class NamedPipe implements Source, Disposable {
  readonly #io: PipeIo;
  static {
    guardThis(this, (o) => #io in o);
  }

  private constructor(io: PipeIo) {
    this.#io = io;
  }

  /** Creates the server end of pipe `name` (`\\\\.\\pipe\\...`); then connect() waits for a client. */
  static create(name: string): NamedPipe {
    needWindows('NamedPipe');
    return new NamedPipe(PipeIo.create(wide(name), name));
  }

  /** Opens the client end of pipe `name`. */
  static open(name: string): NamedPipe {
    needWindows('NamedPipe');
    return new NamedPipe(PipeIo.open(wide(name), name));
  }

  /** Adopts a pipe handle opened with FILE_FLAG_OVERLAPPED (a client end, connected). */
  static fromHandle(handle: number): NamedPipe {
    needWindows('NamedPipe');
    return new NamedPipe(PipeIo.adopt(validInteger(handle, 'handle', 1, Number.MAX_SAFE_INTEGER)));
  }

  /** The pipe's HANDLE value (0 once closed). */
  get handle(): number {
    return this.#io.handle;
  }

  /** Server end: true once a client is connected; null while waiting (a WRITABLE event follows). */
  connect(): true | null {
    return this.#io.connect();
  }

  /** Server end: drops the client; connect() then waits for the next one. */
  disconnect(): void {
    this.#io.disconnect();
  }

  /** Bytes read, 0 at end of stream (the other end closed), or null while nothing has arrived. */
  read(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    const s = span(buf, offset, length, true);
    const into = bytesOf(s.view);
    const want = s.count;
    this.#io.check('ReadFile');
    return want === 0 ? 0 : this.#io.read(into, want);
  }

  /** Bytes taken (buffered and being written), or null while the previous write is in flight. */
  write(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    const s = span(buf, offset, length);
    const from = bytesOf(s.view);
    const want = s.count;
    return this.#io.write(from, want);
  }

  /** Source: associates the pipe with the Poll's completion port and starts its I/O there. */
  register(registry: Registry, token: Token, interest: Interest): void {
    const t = validToken(token);
    const i = validInterest(interest); // before anything changes
    this.#io.check('register');
    this.#io.attach(iocpOf(registry, 'register'), t, i);
  }

  /** Source: changes token and interest (ENOENT unless registered with this Poll). */
  reregister(registry: Registry, token: Token, interest: Interest): void {
    const t = validToken(token);
    const i = validInterest(interest);
    this.#io.check('reregister');
    const sel = iocpOf(registry, 'reregister');
    const before = this.#io.token;
    this.#io.route(sel, t, i, 'reregister');
    if (t !== before) dropEvents(sel, before);
  }

  /** Source: stops reporting events (completions already queued are dropped). */
  deregister(registry: Registry): void {
    this.#io.check('deregister');
    const sel = iocpOf(registry, 'deregister');
    this.#io.detach(sel);
    dropEvents(sel, this.#io.token);
  }

  /** Cancels what is in flight and closes the handle. Closing twice is harmless. */
  close(): void {
    const sel = this.#io.selector;
    if (sel) dropEvents(sel, this.#io.token);
    this.#io.close();
  }

  /** `using`: closes. */
  [Symbol.dispose](): void {
    this.close();
  }
}
