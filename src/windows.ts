// metal-io/windows: NamedPipe (mio's windows::NamedPipe), with overlapped I/O completing on the
// Poll's I/O completion port.
//
// Ownership: each pipe has one pinned read buffer, one pinned write buffer and an OVERLAPPED per
// operation kind, all ArrayBuffer-backed (never moved by V8) and referenced by the pipe; while an
// operation is in flight the selector also holds it (by OVERLAPPED address) until its completion is
// dequeued, so nothing the kernel writes into can be collected early. close() cancels what is in
// flight (CancelIoEx) and the buffers stay referenced by the pending operations until then.
import { validToken, type Token } from './token.js';
import { Interest, validInterest, describe } from './interest.js';
import { Ready } from './event.js';
import { Registry, selectorOf, dropEvents, type Source } from './poll.js';
import { constant, fn, layout, needWindows } from './sys/os.js';
import { pinnedBuffer, addressOf } from './sys/ffi.js';
import { systemError, errorByName } from './errors.js';
import { iocpSelector, type IocpSelector } from './sys/windows/selector.js';
import { invalidArg, span, bytesOf, validInteger, guardThis } from './validators.js';

const BUF = 64 * 1024;

function wide(name: unknown): Buffer {
  if (typeof name !== 'string' || !name.startsWith('\\\\.\\pipe\\')) throw invalidArg(`name must be a pipe name like '\\\\\\\\.\\\\pipe\\\\name', got ${typeof name === 'string' ? `'${name}'` : describe(name)}`);
  return Buffer.from(`${name}\0`, 'utf16le');
}
const lastError = () => fn('GetLastError')();

/** The IOCP selector behind `registry`: a NamedPipe completes on a port, so only that backend takes one. */
function iocpOf(registry: Registry, syscall: string): IocpSelector { return iocpSelector(selectorOf(registry), syscall); }
/**
 * A Windows named pipe end, non-blocking in mio's sense: would-block is null, readiness by events.
 * Like mio's, it makes progress only while registered with a Poll (its completions arrive there).
 */
export class NamedPipe implements Source, Disposable {
  #h: number;
  static { guardThis(this, (o) => #h in o); }
  #sel: IocpSelector | null = null;
  #token: Token = 0;
  #interest: Interest = 0;
  #connected: boolean;
  // Reads: the kernel fills readBuf; read() hands it out.
  readonly #readBuf = pinnedBuffer(BUF);
  readonly #readOv = pinnedBuffer(layout('OVERLAPPED').size);
  #readState: 'idle' | 'pending' | 'ready' | 'eof' = 'idle';
  #readFrom = 0; #readTo = 0;
  #readError = 0;
  // Writes: write() copies into writeBuf; the kernel drains it.
  readonly #writeBuf = pinnedBuffer(BUF);
  readonly #writeOv = pinnedBuffer(layout('OVERLAPPED').size);
  #writePending = false;
  #writeError = 0;
  readonly #connectOv = pinnedBuffer(layout('OVERLAPPED').size);
  #connectPending = false;
  readonly #count = new Uint32Array(1);

  private constructor(h: number, connected: boolean) { this.#h = h; this.#connected = connected; }

  /** Creates the server end of pipe `name` (`\\\\.\\pipe\\...`); then connect() waits for a client. */
  static create(name: string): NamedPipe {
    needWindows('NamedPipe');
    const h = Number(fn('CreateNamedPipeW')(wide(name), constant('PIPE_ACCESS_DUPLEX') | constant('FILE_FLAG_OVERLAPPED') | constant('FILE_FLAG_FIRST_PIPE_INSTANCE'),
      constant('PIPE_TYPE_BYTE') | constant('PIPE_READMODE_BYTE') | constant('PIPE_WAIT') | constant('PIPE_REJECT_REMOTE_CLIENTS'), 1, BUF, BUF, 0, null));
    if (h === 0 || h === 0xffffffffffffffff || h === -1 || h > Number.MAX_SAFE_INTEGER) throw systemError('CreateNamedPipeW', lastError(), name);
    return new NamedPipe(h, false);
  }

  /** Opens the client end of pipe `name`. */
  static open(name: string): NamedPipe {
    needWindows('NamedPipe');
    const h = Number(fn('CreateFileW')(wide(name), constant('GENERIC_READ') | constant('GENERIC_WRITE'), 0, null, constant('OPEN_EXISTING'), constant('FILE_FLAG_OVERLAPPED'), 0));
    if (h === 0 || h === -1 || h > Number.MAX_SAFE_INTEGER) throw systemError('CreateFileW', lastError(), name);
    return new NamedPipe(h, true);
  }

  /** Adopts a pipe handle opened with FILE_FLAG_OVERLAPPED (a client end, connected). */
  static fromHandle(handle: number): NamedPipe {
    needWindows('NamedPipe');
    return new NamedPipe(validInteger(handle, 'handle', 1, Number.MAX_SAFE_INTEGER), true);
  }

  /** The pipe's HANDLE value (0 once closed). */
  get handle(): number { return this.#h; }

  #check(syscall: string): number {
    if (this.#h === 0) throw errorByName(syscall, 'EBADF', 'the NamedPipe is closed');
    return this.#h;
  }

  /** Server end: true once a client is connected; null while waiting (a WRITABLE event follows). */
  connect(): true | null {
    const h = this.#check('ConnectNamedPipe');
    if (this.#connected) return true;
    if (this.#connectPending) return null;
    this.#connectOv.fill(0);
    if (fn('ConnectNamedPipe')(h, this.#connectOv)) { this.#connected = true; return true; }
    const e = lastError();
    if (e === constant('ERROR_PIPE_CONNECTED')) { this.#connected = true; this.#startRead(); return true; }
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
    const h = this.#check('DisconnectNamedPipe');
    if (!fn('DisconnectNamedPipe')(h)) throw systemError('DisconnectNamedPipe', lastError());
    this.#connected = false;
    this.#readState = 'idle';
  }

  /** Bytes read, 0 at end of stream (the other end closed), or null while nothing has arrived. */
  read(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    const s = span(buf, offset, length, true);
    const into = bytesOf(s.view); const want = s.count;
    this.#check('ReadFile');
    if (want === 0) return 0;
    return this.#read(into, want);
  }

  #read(into: Uint8Array, want: number): number | null {
    if (this.#readState === 'ready') {
      const n = Math.min(want, this.#readTo - this.#readFrom);
      into.set(this.#readBuf.subarray(this.#readFrom, this.#readFrom + n));
      this.#readFrom += n;
      if (this.#readFrom === this.#readTo) { this.#readState = 'idle'; this.#startRead(); }
      return n;
    }
    if (this.#readState === 'eof') return 0;
    if (this.#readError) { const e = this.#readError; this.#readError = 0; throw systemError('ReadFile', e); }
    if (this.#readState === 'idle') this.#startRead();
    const now = this.#readState as string; // #startRead may have finished at once
    return now === 'ready' ? this.#read(into, want) : now === 'eof' ? 0 : null;
  }

  /** Bytes taken (buffered and being written), or null while the previous write is in flight. */
  write(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    const s = span(buf, offset, length);
    const from = bytesOf(s.view); const want = s.count;
    const h = this.#check('WriteFile');
    if (this.#writeError) { const e = this.#writeError; this.#writeError = 0; throw systemError('WriteFile', e); }
    if (this.#writePending) return null;
    if (want === 0) return 0;
    const n = Math.min(want, BUF);
    this.#writeBuf.set(from.subarray(0, n));
    this.#writeOv.fill(0);
    if (!fn('WriteFile')(h, this.#writeBuf, n, null, this.#writeOv)) {
      const e = lastError();
      if (e !== constant('ERROR_IO_PENDING')) throw systemError('WriteFile', e);
    }
    // Success or pending: either way a completion is queued (no FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).
    this.#writePending = true;
    this.#expect(this.#writeOv, () => {
      this.#writePending = false;
      if (!fn('GetOverlappedResult')(h, this.#writeOv, this.#count, 0)) { this.#writeError = lastError(); return Ready.WRITABLE | Ready.ERROR | Ready.WRITE_CLOSED; }
      return Ready.WRITABLE;
    });
    return n;
  }

  #startRead(): void {
    const h = this.#h;
    if (h === 0 || !this.#connected || this.#readState !== 'idle' || !this.#sel) return;
    this.#readOv.fill(0);
    if (!fn('ReadFile')(h, this.#readBuf, BUF, null, this.#readOv)) {
      const e = lastError();
      if (e === constant('ERROR_BROKEN_PIPE')) { this.#readState = 'eof'; return; }
      if (e !== constant('ERROR_IO_PENDING')) { this.#readError = e; return; }
    }
    this.#readState = 'pending';
    this.#expect(this.#readOv, () => {
      if (!fn('GetOverlappedResult')(h, this.#readOv, this.#count, 0)) {
        const e = lastError();
        if (e === constant('ERROR_BROKEN_PIPE')) { this.#readState = 'eof'; return Ready.READABLE | Ready.READ_CLOSED; }
        this.#readState = 'idle'; this.#readError = e;
        return Ready.READABLE | Ready.ERROR;
      }
      this.#readFrom = 0; this.#readTo = this.#count[0]!;
      this.#readState = this.#readTo > 0 ? 'ready' : 'idle';
      return Ready.READABLE;
    });
  }

  #expect(ov: Buffer, complete: () => number): void {
    const self = this;
    // The op holds `ov` (and, through `self`, the data buffers) until the completion is dequeued.
    this.#sel?.expect(addressOf(ov), { get token() { return self.#sel ? self.#token : undefined; }, complete: () => (self.#h === 0 ? 0 : complete() & self.#mask()), ov } as never);
  }

  #mask(): number {
    let m = Ready.ERROR | Ready.READ_CLOSED | Ready.WRITE_CLOSED;
    if (this.#interest & Interest.READABLE) m |= Ready.READABLE;
    if (this.#interest & Interest.WRITABLE) m |= Ready.WRITABLE;
    return m;
  }

  /** Source: associates the pipe with the Poll's completion port and starts its I/O there. */
  register(registry: Registry, token: Token, interest: Interest): void {
    const t = validToken(token); const i = validInterest(interest); // before anything changes
    this.#check('register');
    const sel = iocpOf(registry, 'register');
    if (this.#sel) throw errorByName('register', 'EEXIST', 'the NamedPipe is already registered');
    sel.associate(this.#h);
    this.#sel = sel; this.#token = t; this.#interest = i;
    this.#startRead();
  }
  /** Source: changes token and interest (ENOENT unless registered with this Poll). */
  reregister(registry: Registry, token: Token, interest: Interest): void {
    const t = validToken(token); const interestNow = validInterest(interest);
    this.#check('reregister');
    const sel = iocpOf(registry, 'reregister');
    if (this.#sel !== sel) throw errorByName('reregister', 'ENOENT', 'the NamedPipe is not registered with this Poll');
    if (t !== this.#token) dropEvents(sel, this.#token);
    this.#token = t; this.#interest = interestNow;
  }
  /** Source: stops reporting events (completions already queued are dropped). */
  deregister(registry: Registry): void {
    this.#check('deregister');
    const sel = iocpOf(registry, 'deregister');
    if (this.#sel !== sel) throw errorByName('deregister', 'ENOENT', 'the NamedPipe is not registered with this Poll');
    this.#sel = null; // completions already routed to the port are dropped (no token)
    dropEvents(sel, this.#token);
  }

  /** Cancels what is in flight and closes the handle. Closing twice is harmless. */
  close(): void {
    const h = this.#h;
    if (h === 0) return;
    this.#h = 0;
    if (this.#sel) { dropEvents(this.#sel, this.#token); this.#sel = null; }
    fn('CancelIoEx')(h, null);
    fn('CloseHandle')(h);
  }
  /** `using`: closes. */
  [Symbol.dispose](): void { this.close(); }
}
