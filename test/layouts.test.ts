// Proof that the layouts are right: every size, alignment, offset and constant of syscalls.yaml, for
// every target a compiler here can build for, checked by that compiler (generated/probes/*.c).
// (koffi's own layouts of the running target: koffi_layout.test.ts.)

import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSpec, type TargetModel } from '../codegen/model.js';
import { compilerHint, haveCompiler, haveProbeHeaders, runProbe } from '../codegen/probe.js';
import { available } from './_util/env.js';

const spec = loadSpec(fileURLToPath(new URL('../syscalls.yaml', import.meta.url)));
const verified = spec.models.filter((m) => m.target.verify);
const nativeTriple = process.platform === 'linux' && process.arch === 'x64' ? 'x86_64-linux-gnu' : null;

for (const m of verified) {
  test(`probe ${m.target.name}: ${m.target.verify!.startsWith('zig:') ? `zig cc -target ${m.target.verify!.slice(4)}` : `${m.target.verify}-gcc`} agrees with every size, offset and constant`, () => {
    const v = m.target.verify!;
    if (
      !available(
        haveCompiler(v),
        `probe ${m.target.name}`,
        v.startsWith('zig:') ? compilerHint(v) : `${compilerHint(v)} (apt-get install ${debianPackage(v)})`,
      )
    )
      return;
    if (
      !available(
        haveProbeHeaders(m),
        `probe ${m.target.name}`,
        "Node's C headers (include/node/uv.h) are not next to this node (install Node from nodejs.org or npm's node package)",
      )
    )
      return;
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
  const unverified = spec.models
    .filter((m) => !m.target.verify)
    .map((m) => m.target.name)
    .sort();
  assert.equal(unverified, [
    'aix-ppc64',
    'android-arm64',
    'android-x64',
    'dragonfly-x64',
    'freebsd-arm64',
    'freebsd-ia32',
    'freebsd-x64',
    'linux-loong64',
    'netbsd-arm64',
    'netbsd-x64',
    'openbsd-arm64',
    'openbsd-ia32',
    'openbsd-x64',
    'sunos-x64',
    'sunos-x64-solaris',
    'win32-arm64',
  ]);
  for (const m of spec.models) for (const s of m.structs) assert.ok(s.header.length > 3, `${m.target.name} ${s.name} cites a header`);
});

function debianPackage(triple: string): string {
  const map: Record<string, string> = {
    'x86_64-linux-gnu': 'gcc',
    'aarch64-linux-gnu': 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross',
    'i686-linux-gnu': 'gcc-i686-linux-gnu libc6-dev-i386-cross',
    'arm-linux-gnueabihf': 'gcc-arm-linux-gnueabihf libc6-dev-armhf-cross',
    'riscv64-linux-gnu': 'gcc-riscv64-linux-gnu libc6-dev-riscv64-cross',
    'powerpc64le-linux-gnu': 'gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross',
    'x86_64-w64-mingw32': 'gcc-mingw-w64-x86-64',
    'i686-w64-mingw32': 'gcc-mingw-w64-i686',
  };
  return map[triple] ?? triple;
}

test.run();
