// The Win32 side of NamedPipe (mio: sys/windows/named_pipe.rs): the pipe handle, its overlapped
// connect, read and write, and their completions on an IocpSelector's port. The public class in
// src/windows.ts validates arguments, finds the Poll's selector and delegates here.
//
// Ownership: each pipe has one pinned read buffer, one pinned write buffer and an OVERLAPPED per
// operation kind, all ArrayBuffer-backed (never moved by V8) and referenced by the pipe; while an
// operation is in flight the selector also holds it (by OVERLAPPED address) until its completion is
// dequeued, so nothing the kernel writes into can be collected early. close() cancels what is in
// flight (CancelIoEx) and the buffers stay referenced by the pending operations until then.
//
// Between the caller's buffer being measured (src/windows.ts) and the system call, nothing here runs
// code a caller can reach: copies and zeroing are index loops (ffi.ts), never Buffer or
// %TypedArray% methods a caller could patch.
//
// Readiness: a completion reports the bits of the operation that finished (WRITABLE for connect and
// write, READABLE for read, plus ERROR/READ_CLOSED/WRITE_CLOSED as the result says), masked by the
// interest the pipe was registered with. Reads are served from the buffer the kernel filled; the next
// ReadFile starts once it is drained. A write copies at most one buffer and is in flight until its
// completion; the next write() is would-block (null) until then.

import { Interest } from '../../interest.js';
import { errorByName, systemError } from '../errors.js';
import { addressOf, copyBytes, pinnedBuffer, zeroBytes } from '../ffi.js';
import { constant, fn, layout } from '../os.js';
import { Ready } from '../selector.js';
import type { OverlappedOp } from './afd.js';
import type { IocpSelector } from './selector.js';

/** Bytes per pipe buffer, each direction (the kernel's and the pipe's own). */
const BUF = 64 * 1024;

const lastError = (): number => fn('GetLastError')();
/** A HANDLE the call returned, or 0 when it is NULL, INVALID_HANDLE_VALUE (-1, or 2^64-1 read unsigned) or not a safe integer. */
function handleOrZero(v: unknown): number {
  const h = Number(v);
  return h === 0 || h === -1 || h > Number.MAX_SAFE_INTEGER ? 0 : h;
}

type ReadState = 'idle' | 'pending' | 'ready' | 'eof';

export class PipeIo {
  #h: number;
  #sel: IocpSelector | null = null;
  #token = 0;
  #interest = 0;
  #connected: boolean;
  // Reads: the kernel fills readBuf; read() hands it out.
  readonly #readBuf = pinnedBuffer(BUF);
  readonly #readOv = pinnedBuffer(layout('OVERLAPPED').size);
  #readState: ReadState = 'idle';
  #readFrom = 0;
  #readTo = 0;
  #readError = 0;
  // Writes: write() copies into writeBuf; the kernel drains it.
  readonly #writeBuf = pinnedBuffer(BUF);
  readonly #writeOv = pinnedBuffer(layout('OVERLAPPED').size);
  #writePending = false;
  #writeError = 0;
  readonly #connectOv = pinnedBuffer(layout('OVERLAPPED').size);
  #connectPending = false;
  readonly #count = new Uint32Array(1);

  private constructor(h: number, connected: boolean) {
    this.#h = h;
    this.#connected = connected;
  }

  /** The server end of the pipe whose NUL-terminated UTF-16 name is `wideName` (`name` for errors). */
  static create(wideName: Buffer, name: string): PipeIo {
    const h = handleOrZero(
      fn('CreateNamedPipeW')(
        wideName,
        constant('PIPE_ACCESS_DUPLEX') | constant('FILE_FLAG_OVERLAPPED') | constant('FILE_FLAG_FIRST_PIPE_INSTANCE'),
        constant('PIPE_TYPE_BYTE') | constant('PIPE_READMODE_BYTE') | constant('PIPE_WAIT') | constant('PIPE_REJECT_REMOTE_CLIENTS'),
        1,
        BUF,
        BUF,
        0,
        null,
      ),
    );
    if (h === 0) throw systemError('CreateNamedPipeW', lastError(), name);
    return new PipeIo(h, false);
  }

  /** The client end of an existing pipe. */
  static open(wideName: Buffer, name: string): PipeIo {
    const h = handleOrZero(
      fn('CreateFileW')(
        wideName,
        constant('GENERIC_READ') | constant('GENERIC_WRITE'),
        0,
        null,
        constant('OPEN_EXISTING'),
        constant('FILE_FLAG_OVERLAPPED'),
        0,
      ),
    );
    if (h === 0) throw systemError('CreateFileW', lastError(), name);
    return new PipeIo(h, true);
  }

  /** Adopts a handle opened with FILE_FLAG_OVERLAPPED (a connected end). */
  static adopt(handle: number): PipeIo {
    return new PipeIo(handle, true);
  }

  /** The HANDLE value (0 once closed). */
  get handle(): number {
    return this.#h;
  }
  /** The selector the pipe is registered with, or null. */
  get selector(): IocpSelector | null {
    return this.#sel;
  }
  /** The token its events carry. */
  get token(): number {
    return this.#token;
  }

  /** The handle, or EBADF naming `syscall` once closed. */
  check(syscall: string): number {
    if (this.#h === 0) throw errorByName(syscall, 'EBADF', 'the NamedPipe is closed');
    return this.#h;
  }

  /** Server end: true once a client is connected; null while waiting (a WRITABLE event follows). */
  connect(): true | null {
    const h = this.check('ConnectNamedPipe');
    if (this.#connected) return true;
    if (this.#connectPending) return null;
    zeroBytes(this.#connectOv, 0, this.#connectOv.length);
    if (fn('ConnectNamedPipe')(h, this.#connectOv)) {
      this.#connected = true;
      return true;
    }
    const e = lastError();
    if (e === constant('ERROR_PIPE_CONNECTED')) {
      this.#connected = true;
      this.#startRead();
      return true;
    }
    if (e !== constant('ERROR_IO_PENDING')) throw systemError('ConnectNamedPipe', e);
    this.#connectPending = true;
    this.#expect(this.#connectOv, () => {
      this.#connectPending = false;
      if (!fn('GetOverlappedResult')(h, this.#connectOv, this.#count, 0)) return Ready.ERROR | Ready.WRITABLE;
      this.#connected = true;
      this.#startRead();
      return Ready.WRITABLE;
    });
    return null;
  }

  /** Server end: drops the client; connect() then waits for the next one. */
  disconnect(): void {
    const h = this.check('DisconnectNamedPipe');
    if (!fn('DisconnectNamedPipe')(h)) throw systemError('DisconnectNamedPipe', lastError());
    this.#connected = false;
    this.#readState = 'idle';
  }

  /** Copies up to `want` (> 0) received bytes into `into`: the count, 0 at end of stream, null while none arrived. */
  read(into: Uint8Array, want: number): number | null {
    if (this.#readState === 'ready') {
      const n = Math.min(want, this.#readTo - this.#readFrom);
      const rb = this.#readBuf;
      const at = this.#readFrom;
      for (let i = 0; i < n; i++) into[i] = rb[at + i]!;
      this.#readFrom += n;
      if (this.#readFrom === this.#readTo) {
        this.#readState = 'idle';
        this.#startRead();
      }
      return n;
    }
    if (this.#readState === 'eof') return 0;
    if (this.#readError) {
      const e = this.#readError;
      this.#readError = 0;
      throw systemError('ReadFile', e);
    }
    if (this.#readState === 'idle') this.#startRead();
    const now = this.#readState as ReadState; // #startRead may have finished at once
    return now === 'ready' ? this.read(into, want) : now === 'eof' ? 0 : null;
  }

  /** Takes up to one buffer of `from` (`want` bytes) and starts writing it: the count, or null while the previous write is in flight. */
  write(from: Uint8Array, want: number): number | null {
    const h = this.check('WriteFile');
    if (this.#writeError) {
      const e = this.#writeError;
      this.#writeError = 0;
      throw systemError('WriteFile', e);
    }
    if (this.#writePending) return null;
    if (want === 0) return 0;
    const n = Math.min(want, BUF);
    copyBytes(this.#writeBuf, 0, from, n);
    zeroBytes(this.#writeOv, 0, this.#writeOv.length);
    if (!fn('WriteFile')(h, this.#writeBuf, n, null, this.#writeOv)) {
      const e = lastError();
      if (e !== constant('ERROR_IO_PENDING')) throw systemError('WriteFile', e);
    }
    // Success or pending: either way a completion is queued (no FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).
    this.#writePending = true;
    this.#expect(this.#writeOv, () => {
      this.#writePending = false;
      if (!fn('GetOverlappedResult')(h, this.#writeOv, this.#count, 0)) {
        this.#writeError = lastError();
        return Ready.WRITABLE | Ready.ERROR | Ready.WRITE_CLOSED;
      }
      return Ready.WRITABLE;
    });
    return n;
  }

  #startRead(): void {
    const h = this.#h;
    if (h === 0 || !this.#connected || this.#readState !== 'idle' || !this.#sel) return;
    zeroBytes(this.#readOv, 0, this.#readOv.length);
    if (!fn('ReadFile')(h, this.#readBuf, BUF, null, this.#readOv)) {
      const e = lastError();
      if (e === constant('ERROR_BROKEN_PIPE')) {
        this.#readState = 'eof';
        return;
      }
      if (e !== constant('ERROR_IO_PENDING')) {
        this.#readError = e;
        return;
      }
    }
    this.#readState = 'pending';
    this.#expect(this.#readOv, () => {
      if (!fn('GetOverlappedResult')(h, this.#readOv, this.#count, 0)) {
        const e = lastError();
        if (e === constant('ERROR_BROKEN_PIPE')) {
          this.#readState = 'eof';
          return Ready.READABLE | Ready.READ_CLOSED;
        }
        this.#readState = 'idle';
        this.#readError = e;
        return Ready.READABLE | Ready.ERROR;
      }
      this.#readFrom = 0;
      this.#readTo = this.#count[0]!;
      this.#readState = this.#readTo > 0 ? 'ready' : 'idle';
      return Ready.READABLE;
    });
  }

  #expect(ov: Buffer, complete: () => number): void {
    const self = this;
    // The op holds `ov` (and, through `self`, the data buffers) until the completion is dequeued.
    const op: OverlappedOp & { ov: Buffer } = {
      get token() {
        return self.#sel ? self.#token : undefined;
      },
      complete: () => (self.#h === 0 ? 0 : complete() & self.#mask()),
      ov,
    };
    this.#sel?.expect(addressOf(ov), op);
  }

  #mask(): number {
    let m = Ready.ERROR | Ready.READ_CLOSED | Ready.WRITE_CLOSED;
    if (this.#interest & Interest.READABLE) m |= Ready.READABLE;
    if (this.#interest & Interest.WRITABLE) m |= Ready.WRITABLE;
    return m;
  }

  /** Associates the handle with `sel`'s port and starts reading there (EEXIST when registered already). */
  attach(sel: IocpSelector, token: number, interest: number): void {
    if (this.#sel) throw errorByName('register', 'EEXIST', 'the NamedPipe is already registered');
    sel.associate(this.#h);
    this.#sel = sel;
    this.#token = token;
    this.#interest = interest;
    this.#startRead();
  }

  /** New token and interest for the events to come (ENOENT unless attached to `sel`). */
  route(sel: IocpSelector, token: number, interest: number, syscall: string): void {
    this.#attachedTo(sel, syscall);
    this.#token = token;
    this.#interest = interest;
  }

  /** Stops reporting: completions already routed to the port are dropped (no token). */
  detach(sel: IocpSelector): void {
    this.#attachedTo(sel, 'deregister');
    this.#sel = null;
  }

  #attachedTo(sel: IocpSelector, syscall: string): void {
    if (this.#sel !== sel) throw errorByName(syscall, 'ENOENT', 'the NamedPipe is not registered with this Poll');
  }

  /** Cancels what is in flight and closes the handle (harmless twice); detached first. */
  close(): void {
    const h = this.#h;
    if (h === 0) return;
    this.#h = 0;
    this.#sel = null;
    fn('CancelIoEx')(h, null);
    fn('CloseHandle')(h);
  }
}
