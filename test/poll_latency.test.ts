// pollAsync's wake-up latency in a process where nothing else is alive: no timer, no other handle,
// no TypeScript loader. The server is bundled to plain JavaScript and run with this Node; a client
// here measures round trips. (Node 26 once ran promise continuations of koffi's libuv callback only
// when something else woke the loop.)

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));

test('pollAsync echo round trips complete in well under 100 ms with nothing else alive', async () => {
  if (!import.meta.url.endsWith('.ts')) {
    console.log(`  SKIP pollAsync latency: bundles a server with esbuild, runs natively only [${process.platform}-${process.arch}]`);
    return;
  }
  const { build } = await import('esbuild');
  const dir = join(root, 'node_modules', '.cache', 'metal-io-latency');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'server.ts'),
    `
    import { Poll, Events, Interest } from ${JSON.stringify(join(root, 'src/index.ts'))};
    import { TcpListener } from ${JSON.stringify(join(root, 'src/net.ts'))};
    const poll = new Poll(); const events = new Events(16);
    const l = TcpListener.bind('127.0.0.1:0'); poll.registry().register(l, 0, Interest.READABLE);
    process.stdout.write(l.localAddr().port + '\\n');
    const buf = Buffer.alloc(1024); const conns: any[] = [];
    for (;;) {
      await poll.pollAsync(events, null);
      for (const ev of events) {
        if (ev.token === 0) { let r; while ((r = l.accept())) { conns.push(r[0]); poll.registry().register(r[0], conns.length, Interest.READABLE); } continue; }
        const s = conns[ev.token - 1]; let n;
        while ((n = s.read(buf)) !== null && n > 0) s.write(buf, 0, n);
        if (n === 0) process.exit(0);
      }
    }`,
  );
  await build({
    entryPoints: [join(dir, 'server.ts')],
    outfile: join(dir, 'server.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['koffi'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const child = spawn(process.execPath, [join(dir, 'server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const back = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`round trip ${i}: no echo within 2000 ms (${process.version})`)), 2000);
        s.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      s.write('x');
      await back;
      times.push(performance.now() - t0);
    }
    s.end();
    const worst = Math.max(...times);
    assert.ok(
      worst < 100,
      `worst round trip ${worst.toFixed(1)} ms on ${process.version} (all: ${times.map((t) => t.toFixed(1)).join(', ')})`,
    );
  } finally {
    child.kill();
  }
});

test.run();
