// Test environment switches. Under METAL_IO_STRICT=1 (set by .ci/run) missing machinery (a compiler,
// Wine, qemu) fails the test; elsewhere the test skips with a one-line reason.
export const strict = process.env.METAL_IO_STRICT === '1';

/** Returns true when the test should run; otherwise prints the skip reason (or throws under strict). */
export function available(ok: boolean, what: string, reason: string): boolean {
  if (ok) return true;
  if (strict) throw new Error(`${what}: ${reason} (METAL_IO_STRICT=1: missing machinery is a failure)`);
  console.log(`  SKIP ${what}: ${reason} [${process.platform}-${process.arch}]`);
  return false;
}
