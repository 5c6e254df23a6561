// Proof that the layouts are right: every size, alignment, offset and constant of syscalls.yaml, for
// every target a compiler here can build for, checked by that compiler (generated/probes/*.c); and
// koffi's own layouts of the running target's structs equal the YAML.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import koffi, { type TypeObject } from 'koffi';
type TypeSpec = string | TypeObject;
import { loadSpec, type TargetModel } from '../codegen/model.js';
import { runProbe, haveCompiler } from '../codegen/probe.js';
import { structs as runningStructs, platform } from '../src/sys/index.js';
import type { StructInfo } from '../generated/types.js';
import { available } from './_util/env.js';

const spec = loadSpec(fileURLToPath(new URL('../syscalls.yaml', import.meta.url)));
const verified = spec.models.filter((m) => m.target.verify);
const nativeTriple = process.platform === 'linux' && process.arch === 'x64' ? 'x86_64-linux-gnu' : null;

for (const m of verified) {
  test(`probe ${m.target.name}: ${m.target.verify}-gcc agrees with every size, offset and constant`, () => {
    if (!available(haveCompiler(m.target.verify!), `probe ${m.target.name}`, `${m.target.verify}-gcc/objcopy not installed (apt-get install ${debianPackage(m.target.verify!)})`)) return;
    const r = runProbe(m, { run: m.target.name === 'linux-x64' && m.target.verify === nativeTriple });
    assert.ok(r.checked > 50, `${r.checked} items checked`);
    assert.equal(r.mismatches, [], `${r.mismatches.length} mismatches:\n${r.mismatches.join('\n')}`);
  });
}

test('probe: a wrong layout is reported with both values, all at once', () => {
  const m = spec.models.find((x) => x.target.name === 'linux-x64')!;
  if (!available(haveCompiler('x86_64-linux-gnu'), 'probe mismatch report', 'x86_64-linux-gnu-gcc not installed')) return;
  const wrong: TargetModel = structuredClone(m);
  const ev = wrong.structs.find((s) => s.name === 'epoll_event')!;
  ev.size = 16;
  wrong.constants.find((c) => c.name === 'EPOLLIN')!.value = 2;
  const r = runProbe(wrong);
  assert.ok(r.mismatches.includes('bad epoll_event size: yaml 16 != c 12 (linux-x64)'), r.mismatches.join('\n'));
  assert.ok(r.mismatches.includes('bad EPOLLIN: yaml 2 != c 1 (linux-x64)'), r.mismatches.join('\n'));
  assert.is(r.mismatches.length, 2);
});

test('targets no compiler here checks say so, and cite a header for every struct', () => {
  const unverified = spec.models.filter((m) => !m.target.verify).map((m) => m.target.name).sort();
  assert.equal(unverified, ['android-arm64', 'android-x64', 'darwin-arm64', 'darwin-x64', 'freebsd-arm64', 'freebsd-ia32', 'freebsd-x64', 'linux-loong64', 'openbsd-arm64', 'openbsd-ia32', 'openbsd-x64', 'win32-arm64']);
  for (const m of spec.models) for (const s of m.structs) assert.ok(s.header.length > 3, `${m.target.name} ${s.name} cites a header`);
});

// koffi computes its own layouts from the same field types; they must equal the YAML's.
const KOFFI_TYPE: Record<string, string> = {
  int8: 'int8_t', uint8: 'uint8_t', int16: 'int16_t', uint16: 'uint16_t', int32: 'int32_t', uint32: 'uint32_t',
  int64: 'int64_t', uint64: 'uint64_t', char: 'char', short: 'short', ushort: 'unsigned short', int: 'int',
  uint: 'unsigned int', long: 'long', ulong: 'unsigned long', longlong: 'long long', ulonglong: 'unsigned long long',
  intptr: 'intptr_t', uintptr: 'uintptr_t', pointer: 'void *',
};
function koffiType(name: string, s: StructInfo, cache: Map<string, TypeObject>): TypeObject {
  const have = cache.get(name);
  if (have) return have;
  const def: Record<string, TypeSpec> = {};
  for (const [fname, f] of Object.entries(s.fields)) {
    const el: TypeSpec = KOFFI_TYPE[f.type] ?? koffiType(f.type, (runningStructs as Record<string, StructInfo>)[f.type]!, cache);
    def[fname] = f.count === null ? el : koffi.array(el, f.count, 'Array');
  }
  const t = s.packed ? koffi.pack(def) : koffi.struct(def);
  cache.set(name, t);
  return t;
}

test(`koffi's layouts equal the YAML for every struct of ${platform.name}`, () => {
  const cache = new Map<string, TypeObject>();
  const entries = Object.entries(runningStructs) as [string, StructInfo][];
  assert.ok(entries.length >= 10);
  for (const [name, s] of entries) {
    const t = koffiType(name, s, cache);
    assert.is(koffi.sizeof(t), s.size, `${name} size`);
    assert.is(koffi.alignof(t), s.align, `${name} align`);
    for (const [fname, f] of Object.entries(s.fields)) assert.is(koffi.offsetof(t, fname), f.offset, `${name}.${fname} offset`);
  }
});

function debianPackage(triple: string): string {
  const map: Record<string, string> = {
    'x86_64-linux-gnu': 'gcc', 'aarch64-linux-gnu': 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross',
    'i686-linux-gnu': 'gcc-i686-linux-gnu libc6-dev-i386-cross', 'arm-linux-gnueabihf': 'gcc-arm-linux-gnueabihf libc6-dev-armhf-cross',
    'riscv64-linux-gnu': 'gcc-riscv64-linux-gnu libc6-dev-riscv64-cross', 'powerpc64le-linux-gnu': 'gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross',
    'x86_64-w64-mingw32': 'gcc-mingw-w64-x86-64', 'i686-w64-mingw32': 'gcc-mingw-w64-i686',
  };
  return map[triple] ?? triple;
}

test.run();
