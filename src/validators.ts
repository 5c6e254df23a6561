// Validation at the boundary, once (Node's internal/validators.js is the model). Every public entry
// point turns caller values into checked primitives here; nothing below trusts a JavaScript object.
//
// Byte counts and offsets handed to the kernel come from the engine's own view of memory: the
// intrinsic `byteLength` / `byteOffset` / `buffer` getters, captured when this module loads, so an
// instance property, a subclass getter, a Proxy or a later patch of the prototypes cannot lie to us.
import { types } from 'node:util';

// ---- intrinsics, captured once ----------------------------------------------------------------

type Getter<T> = (self: unknown) => T;
const uncurry = <T>(proto: object, key: string): Getter<T> => {
  const get = Object.getOwnPropertyDescriptor(proto, key)!.get!;
  return Function.prototype.call.bind(get) as Getter<T>;
};
const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const taTag = uncurry<string | undefined>(TypedArrayProto, Symbol.toStringTag as unknown as string);
const taByteLength = uncurry<number>(TypedArrayProto, 'byteLength');
const taByteOffset = uncurry<number>(TypedArrayProto, 'byteOffset');
const taBuffer = uncurry<ArrayBufferLike>(TypedArrayProto, 'buffer');
const dvByteLength = uncurry<number>(DataView.prototype, 'byteLength');
const dvByteOffset = uncurry<number>(DataView.prototype, 'byteOffset');
const dvBuffer = uncurry<ArrayBufferLike>(DataView.prototype, 'buffer');
const abDetached: Getter<boolean> | null = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached')
  ? uncurry<boolean>(ArrayBuffer.prototype, 'detached')
  : null;
const isView = ArrayBuffer.isView;
const isInteger = Number.isInteger;
const U8 = Uint8Array;

// ---- Node-style argument errors ---------------------------------------------------------------

export type ArgError = (TypeError | RangeError) & { code: string };

function withCode<E extends Error>(err: E, code: string, at: Function): E & { code: string } {
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  Error.captureStackTrace?.(err, at);
  return err as E & { code: string };
}

/** A short, side-effect-free description of a value for messages (never calls user code). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return `type string ('${v.length > 28 ? `${v.slice(0, 25)}...` : v}')`;
    case 'number':
      return `type number (${Object.is(v, -0) ? '-0' : String(v)})`;
    case 'bigint':
      return `type bigint (${v}n)`;
    case 'boolean':
    case 'undefined':
    case 'symbol':
      return typeof v === 'symbol' ? 'type symbol' : `type ${typeof v} (${String(v)})`;
    case 'function':
      return 'function';
    default: {
      if (types.isProxy(v)) return 'a Proxy';
      if (isView(v)) return `an instance of ${taTag(v) ?? 'DataView'}`;
      try {
        // Own data properties only: a getter or a Proxy in the chain is never called.
        const proto = Object.getPrototypeOf(v) as object | null;
        const ctor = proto && !types.isProxy(proto) ? Object.getOwnPropertyDescriptor(proto, 'constructor')?.value : undefined;
        const cname = typeof ctor === 'function' ? Object.getOwnPropertyDescriptor(ctor, 'name')?.value : undefined;
        return typeof cname === 'string' && cname ? `an instance of ${cname}` : 'an object';
      } catch {
        return 'an object';
      }
    }
  }
}

/** TypeError ERR_INVALID_ARG_TYPE: `The "buf" argument must be ... Received type number (1)`. */
export function argTypeError(name: string, expected: string, actual: unknown): ArgError {
  return withCode(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE',
    argTypeError,
  );
}

/** RangeError ERR_OUT_OF_RANGE: `The value of "offset" is out of range. It must be ... Received 17`. */
export function outOfRangeError(name: string, range: string, actual: unknown): ArgError {
  const shown = typeof actual === 'number' ? (Object.is(actual, -0) ? '-0' : String(actual)) : describe(actual);
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`),
    'ERR_OUT_OF_RANGE',
    outOfRangeError,
  );
}

/** TypeError ERR_INVALID_ARG_VALUE: `The argument 'interest' is invalid: reason. Received ...`. */
export function argValueError(name: string, reason: string, actual?: unknown): ArgError {
  return withCode(
    // biome-ignore lint/complexity/noArguments: an omitted `actual` (no 'Received') differs from an undefined one
    new TypeError(`The argument '${name}' ${reason}.${arguments.length > 2 ? ` Received ${describe(actual)}` : ''}`),
    'ERR_INVALID_ARG_VALUE',
    argValueError,
  );
}

// ---- `this` -------------------------------------------------------------------------------------
//
// A method called on something other than an instance of its class (a plain object, an object made
// with Object.create(TcpStream.prototype), a Proxy of an instance, a primitive) throws
// ERR_INVALID_THIS before its body runs, as Node's own classes do. The check is a private brand
// (`#field in this`): no property, prototype edit or Proxy trap can satisfy it, and it calls no
// caller code. The wrapper has a fixed arity and calls through Function.prototype.call captured
// here (never a patched one), so it allocates nothing; V8 inlines it.

const callBound = Function.prototype.call.bind(Function.prototype.call) as (f: Function, self: unknown, ...a: unknown[]) => unknown;
const defineProperty = Object.defineProperty;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ownKeys = Reflect.ownKeys;

/** The most arguments a guarded method takes (the wrapper passes this many, undefined past the caller's). */
const MAX_ARGS = 8;

function guarded(m: Function, is: (o: object) => boolean, type: string): Function {
  const w = function (
    this: unknown,
    a?: unknown,
    b?: unknown,
    c?: unknown,
    d?: unknown,
    e?: unknown,
    f?: unknown,
    g?: unknown,
    h?: unknown,
  ): unknown {
    if (typeof this !== 'object' || this === null || !is(this)) throw invalidThis(type);
    return callBound(m, this, a, b, c, d, e, f, g, h);
  };
  if (m.length > MAX_ARGS) throw new Error(`guardThis: ${type}.${m.name} takes ${m.length} arguments, more than ${MAX_ARGS}`);
  defineProperty(w, 'name', { value: m.name, configurable: true });
  defineProperty(w, 'length', { value: m.length, configurable: true });
  return w;
}

/**
 * Makes every method and accessor defined on `C.prototype` (not those it inherits: their class
 * guards them) refuse a `this` for which `is` is false, with ERR_INVALID_THIS naming `type`. Call
 * it from the class's static block with a private-brand check: `static { guardThis(this, (o) => #x in o); }`.
 * Members named in `inline` are left alone: they check `this` themselves, in their own code (the
 * per-event ones, where one shared wrapper would not be inlined).
 */
export function guardThis(
  C: { readonly prototype: object; readonly name: string },
  is: (o: object) => boolean,
  type: string = C.name,
  inline: readonly string[] = [],
): void {
  const proto = C.prototype;
  for (const key of ownKeys(proto)) {
    if (key === 'constructor' || inline.includes(key as string)) continue; // `inline`: members that check `this` themselves
    const d = getOwnPropertyDescriptor(proto, key)!;
    if (typeof d.value === 'function') d.value = guarded(d.value as Function, is, type);
    if (d.get) d.get = guarded(d.get, is, type) as () => unknown;
    if (d.set) d.set = guarded(d.set, is, type) as (v: unknown) => void;
    defineProperty(proto, key, d);
  }
}

/** TypeError ERR_INVALID_THIS: `Value of "this" must be of type TcpStream` (a method called on an object it does not belong to). */
export function invalidThis(type: string): ArgError {
  return withCode(new TypeError(`Value of "this" must be of type ${type}`), 'ERR_INVALID_THIS', invalidThis);
}

/** TypeError ERR_INVALID_ARG_VALUE with a message of the caller's wording. */
export function invalidArg(message: string): ArgError {
  return withCode(new TypeError(message), 'ERR_INVALID_ARG_VALUE', invalidArg);
}

/** RangeError ERR_OUT_OF_RANGE with a message of the caller's wording. */
export function outOfRange(message: string): ArgError {
  return withCode(new RangeError(message), 'ERR_OUT_OF_RANGE', outOfRange);
}

// ---- numbers ----------------------------------------------------------------------------------

/** An integer in [min, max]: TypeError for a non-number, RangeError for a fraction, NaN or out of range. */
export function validInteger(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number') throw argTypeError(name, 'of type number', v);
  if (!isInteger(v) || v < min || v > max) throw outOfRangeError(name, `an integer >= ${min} && <= ${max}`, v);
  return v;
}

/** A file descriptor: an integer from 0 to 2^31-1. */
export function validFd(v: unknown, name = 'fd'): number {
  return validInteger(v, name, 0, 0x7fffffff);
}

export function validBoolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw argTypeError(name, 'of type boolean', v);
  return v;
}

// ---- memory -----------------------------------------------------------------------------------

const VIEW = 'an instance of Buffer, TypedArray, or DataView';

function detached(v: ArrayBufferView, dataView: boolean): boolean {
  const ab = dataView ? dvBuffer(v) : taBuffer(v);
  if (types.isSharedArrayBuffer(ab)) return false;
  if (abDetached) return abDetached(ab);
  try {
    new U8(ab as ArrayBuffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * The byte length of `buf` as the engine sees it. TypeError (ERR_INVALID_ARG_TYPE) unless `buf` is
 * a Buffer, TypedArray or DataView; TypeError (ERR_INVALID_ARG_VALUE) when its memory is detached.
 */
export function byteLength(buf: unknown, name = 'buf'): number {
  if (!isView(buf)) throw argTypeError(name, VIEW, buf);
  if (taTag(buf) !== undefined) {
    const n = taByteLength(buf);
    if (n === 0 && detached(buf, false)) throw argValueError(name, 'is detached (its ArrayBuffer was transferred)');
    return n;
  }
  try {
    return dvByteLength(buf);
  } catch {
    throw argValueError(name, 'is detached (its ArrayBuffer was transferred)');
  }
}

/**
 * A new, plain Uint8Array over the same memory as `buf` (no copy): its methods and length are the
 * engine's, whatever the caller's object overrides. For copying paths, not the hot path.
 */
export function bytesOf(buf: ArrayBufferView, name = 'buf'): Uint8Array {
  const n = byteLength(buf, name);
  const dv = taTag(buf) === undefined;
  return new U8(dv ? dvBuffer(buf) : taBuffer(buf), dv ? dvByteOffset(buf) : taByteOffset(buf), n);
}

/** The result of span(): read it at once (one span at a time, per thread). */
export const spanned = { view: new U8(0) as ArrayBufferView, count: 0 };

/**
 * The `offset`/`length` part of `buf` that a read or write hands the kernel (fs.read's convention),
 * left in `spanned`: the view to pass and the byte count, both from the intrinsic layout. The whole
 * buffer and any prefix of it allocate nothing; another offset takes one Uint8Array view.
 * `room`: the operation needs at least one byte of room (a stream read, where 0 means end of stream).
 */
export function span(buf: unknown, offset: unknown, length: unknown, room = false, name = 'buf'): typeof spanned {
  const cap = byteLength(buf, name);
  const view = buf as ArrayBufferView;
  let off = 0;
  if (offset !== undefined) off = validInteger(offset, 'offset', 0, cap);
  let len = cap - off;
  if (length !== undefined) len = validInteger(length, 'length', 0, cap - off);
  if (room && cap === 0) throw argValueError(name, 'has no room: a read needs a buffer of at least one byte (0 means end of stream)');
  const s = spanned;
  s.count = len;
  if (off === 0) {
    s.view = view;
    return s;
  }
  const dv = taTag(view) === undefined;
  s.view = new U8(dv ? dvBuffer(view) : taBuffer(view), (dv ? dvByteOffset(view) : taByteOffset(view)) + off, len);
  return s;
}

/**
 * A checked copy of an array of buffers (for vectored I/O): the array is read once, element by
 * element (a Proxy or getter cannot hand us one buffer to check and another to use), and each
 * element's byte length is taken from the engine. Returns the buffers and their lengths.
 */
export function viewList(bufs: unknown, name: string, max: number): { views: ArrayBufferView[]; lengths: number[]; total: number } {
  if (!Array.isArray(bufs) || types.isProxy(bufs)) throw argTypeError(name, `an Array of ${VIEW}`, bufs);
  const n = bufs.length;
  if (n > max) throw outOfRangeError(`${name}.length`, `<= ${max}`, n);
  // First every element (an accessor on the array may run here), then every length: no caller code
  // runs between measuring the buffers and handing them to the kernel.
  const views: ArrayBufferView[] = new Array(n);
  for (let i = 0; i < n; i++) views[i] = bufs[i];
  const lengths: number[] = new Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += lengths[i] = byteLength(views[i], `${name}[${i}]`);
  return { views, lengths, total };
}

const taSet = Function.prototype.call.bind(
  (Uint8Array.prototype as Uint8Array).set as (src: ArrayLike<number>, offset?: number) => void,
) as (dst: Uint8Array, src: Uint8Array, offset: number) => void;
/**
 * Copies `n` bytes from `src` at `srcOff` to `dst` at `dstOff` with the intrinsics captured at load
 * (%TypedArray%.prototype.set, and a view made from the intrinsic buffer and offset: no subarray,
 * whose species lookup a caller could reach). For the library's own plain views (bytesOf).
 */
export function copyView(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number, name = 'buf'): void {
  try {
    taSet(dst, new U8(taBuffer(src) as ArrayBuffer, taByteOffset(src) + srcOff, n), dstOff);
  } catch {
    // Only a view detached or shrunk by caller code can fail here.
    throw argValueError(name, 'was detached or resized during the call');
  }
}

/** The ArrayBuffer (or SharedArrayBuffer) behind a view, from the intrinsic getter. */
export function bufferOf(view: ArrayBufferView): ArrayBufferLike {
  return taTag(view) === undefined ? dvBuffer(view) : taBuffer(view);
}
