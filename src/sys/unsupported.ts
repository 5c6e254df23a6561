// ERR_METAL_IO_UNSUPPORTED errors. A leaf module (it imports nothing), so that the system layer's
// first modules (ffi.ts, os.ts) can use it without an import cycle through errors.ts.

/** An Error with code ERR_METAL_IO_UNSUPPORTED: this target, system or backend cannot do it. */
export function unsupportedError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_METAL_IO_UNSUPPORTED' });
}
