// When koffi cannot load (no native module for the platform, a system it does not support), importing
// metal-io throws metal-io's KoffiLoadError: code ERR_METAL_IO_KOFFI, the target, what to do (from the
// YAML's `koffi:` per target) and koffi's own error as the cause. The process tests make koffi fail
// for real: a preload makes Node report another platform, so koffi looks for a native module that is
// not installed, exactly as it does on NetBSD or illumos.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KoffiLoadError, koffiLoadError } from '../src/sys/koffi.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = import.meta.url.endsWith('.ts') && process.platform === 'linux';
const why = new Error('Cannot find the native Koffi module; did you bundle it correctly?');

test('the advice follows the target: built from source, a missing optional package, a big-endian system, no target', () => {
  const src = koffiLoadError(why, 'netbsd-x64', 'LE');
  assert.instance(src, KoffiLoadError);
  assert.equal([src.code, src.target, src.cause], ['ERR_METAL_IO_KOFFI', 'netbsd-x64', why]);
  assert.match(src.message, /cannot load on netbsd-x64 .*build koffi from source.*koffi said: Cannot find the native Koffi module/);
  for (const t of ['dragonfly-x64', 'sunos-x64', 'sunos-x64-solaris', 'ios-arm64'])
    assert.match(koffiLoadError(why, t, 'LE').message, /build koffi from source/, t);
  assert.match(koffiLoadError(why, 'linux-x64', 'LE').message, /optional package @koromix\/koffi-/);
  assert.match(koffiLoadError(why, 'linux-x64', 'BE').message, /does not run on this system \(it supports little-endian systems only\)/);
  assert.match(koffiLoadError(why, 'plan9-x64', 'LE').message, /metal-io has no target for plan9-x64 either \(targets: .*linux-x64/);
  assert.match(koffiLoadError('a string', 'netbsd-x64', 'LE').message, /koffi said: a string$/);
});

test('aix-ppc64 is generated complete, and refused as big-endian before anything is misread', async () => {
  const { runnable } = await import('../src/sys/os.js');
  const { targetModule } = await import('../src/sys/target.js');
  const aix = targetModule('aix-ppc64');
  assert.equal([aix.target.endian, aix.target.koffi, aix.target.backends], ['big', 'none', ['poll']]);
  // What the YAML says of AIX: 4.4BSD socket calls (n*), its own poll bits and errnos, 1023-byte sun_path.
  assert.equal([aix.functions.accept!.symbol, aix.functions.recvmsg!.symbol, aix.functions.poll!.symbol], ['naccept', 'nrecvmsg', 'poll']);
  assert.equal(
    [aix.constants.POLLOUT, aix.constants.POLLHUP, aix.constants.EAGAIN, aix.constants.EINPROGRESS, aix.constants.AF_INET6],
    [2, 0x2000, 11, 55, 24],
  );
  assert.equal([aix.structs.sockaddr_un!.size, aix.structs.sockaddr_storage!.size, aix.structs.msghdr!.size], [1025, 1288, 48]);
  try {
    runnable(aix);
    assert.unreachable('a big-endian target must be refused');
  } catch (e) {
    assert.is((e as { code?: string }).code, 'ERR_METAL_IO_UNSUPPORTED');
    assert.match((e as Error).message, /aix-ppc64 is big-endian/);
  }
  assert.is(runnable(targetModule('linux-x64')).target.name, 'linux-x64');
  assert.match(koffiLoadError(why, 'aix-ppc64', 'BE').message, /koffi does not run on this system/);
  assert.match(koffiLoadError(why, 'aix-ppc64', 'LE').message, /koffi does not run on this system/, "the YAML's koffi: none says it too");
});

test('the YAML knows where koffi publishes native modules: exactly its optional packages', async () => {
  let koffiPkg: { optionalDependencies?: Record<string, string> };
  try {
    koffiPkg = JSON.parse(readFileSync(join(root, 'node_modules', 'koffi', 'package.json'), 'utf8'));
  } catch {
    console.log(`  SKIP koffi's package.json: no node_modules here (bundled tests) [${process.platform}-${process.arch}]`);
    return;
  }
  const published = new Set(Object.keys(koffiPkg.optionalDependencies ?? {}).map((p) => p.replace('@koromix/koffi-', '')));
  assert.ok(published.has('linux-x64'), 'koffi lists its packages as @koromix/koffi-<platform>-<arch>');
  const { targets } = await import('../generated/index.js');
  for (const [name, mod] of Object.entries(targets)) {
    // linux-x64-musl and linux-libkqueue-x64 load linux-x64's package; DragonFly, iOS, NetBSD, SunOS have none.
    const pkg = `${mod.target.os}-${mod.target.arch}`;
    assert.is(
      mod.target.koffi === 'prebuild',
      published.has(pkg),
      `${name}: koffi: ${mod.target.koffi}, but koffi ${published.has(pkg) ? 'publishes' : 'does not publish'} @koromix/koffi-${pkg}`,
    );
  }
});

/** Runs `code` in a Node whose process.platform/arch (and os.type) a preload has changed. */
function asIf(
  platform: string,
  arch: string,
  osType: string,
  code: string,
): { code?: string; name?: string; target?: string; message?: string; cause?: string; loaded?: true } {
  const dir = mkdtempSync(join(tmpdir(), 'metal-io-koffi-'));
  try {
    writeFileSync(
      join(dir, 'as-if.mjs'),
      [
        `import os from 'node:os'; import { syncBuiltinESMExports } from 'node:module';`,
        `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });`,
        `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });`,
        `os.type = () => ${JSON.stringify(osType)}; syncBuiltinESMExports();`,
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'main.mjs'),
      `try { ${code}; console.log(JSON.stringify({ loaded: true })); } catch (e) { console.log(JSON.stringify({ code: e.code, name: e.name, target: e.target, message: e.message, cause: e.cause?.message })); }\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', join(dir, 'as-if.mjs'), join(dir, 'main.mjs')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30000,
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    assert.ok(line.startsWith('{'), `no result from the child: ${r.stdout}\n${r.stderr}`);
    return JSON.parse(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('importing metal-io where koffi has no native module throws KoffiLoadError, for each entry point', () => {
  if (!native) {
    console.log(
      `  SKIP koffi load failure: the child runs the TypeScript sources through tsx, natively on Linux only [${process.platform}-${process.arch}]`,
    );
    return;
  }
  for (const entry of ['src/index.ts', 'src/net.ts', 'src/sys/index.ts']) {
    const r = asIf('netbsd', 'x64', 'NetBSD', `await import(${JSON.stringify(join(root, entry))})`);
    assert.equal([r.code, r.name, r.target], ['ERR_METAL_IO_KOFFI', 'KoffiLoadError', 'netbsd-x64'], entry);
    assert.match(r.message!, /build koffi from source/);
    assert.is(r.cause, 'Cannot find the native Koffi module; did you bundle it correctly?');
  }
  const df = asIf('freebsd', 'x64', 'DragonFly', `await import(${JSON.stringify(join(root, 'src/index.ts'))})`);
  assert.equal([df.code, df.target], ['ERR_METAL_IO_KOFFI', 'dragonfly-x64']);
  // A platform koffi publishes a module for, whose optional package is not installed here.
  const lo = asIf('linux', 'loong64', 'Linux', `await import(${JSON.stringify(join(root, 'src/index.ts'))})`);
  assert.equal([lo.code, lo.target], ['ERR_METAL_IO_KOFFI', 'linux-loong64']);
  assert.match(lo.message!, /reinstall without omitting optional dependencies/);
  // And where it does load, nothing is in the way.
  assert.equal(asIf('linux', process.arch, 'Linux', `await import(${JSON.stringify(join(root, 'src/index.ts'))})`), { loaded: true });
});

test.run();
