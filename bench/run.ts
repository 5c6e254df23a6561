// `npm run bench`: the echo benchmarks. Builds the native load generators and the native echo
// baselines (cc), then, in the same run, each pinned to CPU 0 with its load generator on CPU 1:
//   TCP: C epoll, metal-io's examples/tcp_server.ts, Node's net with s.pipe(s); msgs/s, server
//        CPU-µs per message, bulk MB/s.
//   Multi-core accept (not pinned: the servers use both cores): metal-io's
//        examples/multicore_server.ts with 1 and 2 worker threads against Node's cluster with 2
//        worker processes (and Node's net in one process); msgs/s and CPU-µs per message, the CPU
//        of the whole process tree.
//   UDP: C epoll with recvfrom/sendto per datagram, metal-io per datagram (recvFromPeer/sendToPeer),
//        metal-io batched (recvMany/sendMany), metal-io with recvFrom/sendTo, Node's dgram;
//        datagrams/s, server CPU-µs (total and user) per datagram.
// Server CPU comes from /proc/PID/stat; metal-io's GCs are counted inside the server for each
// measured window.
//   Request/response (--only rr): the echo server waiting each of its four ways (examples/
//        tcp_server.ts --wait blocking|hybrid|async|run) beside C epoll and Node's net, 32
//        connections with 1 and with 16 requests of 64 B in flight each; requests/s and server
//        CPU-µs per request, and each way against blocking poll().
//   npm run bench [-- --only tcp|rr|multicore|udp --rounds 3 --seconds 5 --warmup 2 --size 64]
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    size: { type: 'string', default: '64' },
    'bulk-size': { type: 'string', default: '65536' },
  },
});
const build = join(root, 'bench', 'build');
mkdirSync(build, { recursive: true });
for (const name of ['loadgen', 'echo', 'udp_loadgen', 'udp_echo']) {
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', join(build, name), join(root, 'bench', `${name}.c`)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`cc ${name}.c failed`);
}
const haveTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pin = (cpu: number, cmd: string[]) => (haveTaskset ? ['taskset', '-c', String(cpu), ...cmd] : cmd);
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** [user, system] CPU seconds of a process (all its threads) and of its descendants still running. */
function cpuSeconds(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const t: [number, number] = [Number(fields[11]) / TICK, Number(fields[12]) / TICK]; // utime, stime
  for (const child of childPids(pid)) {
    const [u, s] = cpuSeconds(child);
    t[0] += u;
    t[1] += s;
  }
  return t;
}

function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  } // gone, or a kernel without /proc/PID/task/TID/children
}

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
  stats?: () => Promise<string>;
}

let pinned = true; // false for the multi-core section: the servers there need both cores
async function startServer(name: string, cmd: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const [bin, ...args] = pinned ? pin(0, cmd) : cmd;
  const child = spawn(bin!, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start`)), 20000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (c) => reject(new Error(`${name} exited ${c}`)));
  });
  const s: Server = { name, child, port };
  if (env.METAL_IO_BENCH_STATS) {
    s.stats = () =>
      new Promise((resolve) => {
        const before = out.length;
        const check = setInterval(() => {
          const m = /gc (\d+)\n/.exec(out.slice(before));
          if (m) {
            clearInterval(check);
            resolve(m[1]!);
          }
        }, 10);
        child.kill('SIGUSR2');
      });
  }
  return s;
}

/** Runs a load generator against `s`; measures the server's CPU over the generator's window. */
async function load(s: Server, loadArgs: string[]) {
  const [bin, ...args] = pinned ? pin(1, loadArgs) : loadArgs;
  const child = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let cpu0: [number, number] = [0, 0];
  let gcReset: Promise<string> | null = null;
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d: Buffer) => {
    if (d.toString().includes('measuring')) {
      cpu0 = cpuSeconds(s.child.pid!);
      gcReset = s.stats?.() ?? null;
    } else process.stderr.write(d);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const [u1, s1] = cpuSeconds(s.child.pid!);
  if (code !== 0) throw new Error(`load generator against ${s.name} exited ${code}`);
  await gcReset;
  const gcs = s.stats ? await s.stats() : 'n/a';
  const r = JSON.parse(out) as { msgs: number; bytes?: number; seconds: number };
  const user = u1 - cpu0[0];
  const cpu = user + (s1 - cpu0[1]);
  return {
    msgsPerSec: r.msgs / r.seconds,
    cpuUsPerMsg: (cpu * 1e6) / r.msgs,
    userUsPerMsg: (user * 1e6) / r.msgs,
    mbPerSec: (r.bytes ?? 0) / r.seconds / 1e6,
    gcs,
  };
}
type Result = Awaited<ReturnType<typeof load>>;

interface Scenario {
  label: string;
  args: (port: number) => string[];
  bulkSize?: number;
}
type ServerSpec = [string, string[], NodeJS.ProcessEnv?];

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)]!;
};

/** Every server against every scenario, rounds interleaved (slow phases of this noisy VM hit all alike); medians. */
async function section(servers: ServerSpec[], scenarios: Scenario[]): Promise<Record<string, Record<string, Result>>> {
  const all: Record<string, Record<string, Result[]>> = {};
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [name, cmd, env] of servers) {
      const s = await startServer(name, cmd, env);
      all[name] ??= {};
      try {
        for (const sc of scenarios) (all[name]![sc.label] ??= []).push(await load(s, sc.args(s.port)));
      } finally {
        s.child.kill('SIGTERM');
        await new Promise((r) => s.child.once('exit', r));
      }
    }
  }
  const results: Record<string, Record<string, Result>> = {};
  for (const [name, byScenario] of Object.entries(all)) {
    results[name] = {};
    for (const [label, rs] of Object.entries(byScenario)) {
      results[name]![label] = {
        msgsPerSec: median(rs.map((r) => r.msgsPerSec)),
        cpuUsPerMsg: median(rs.map((r) => r.cpuUsPerMsg)),
        userUsPerMsg: median(rs.map((r) => r.userUsPerMsg)),
        mbPerSec: median(rs.map((r) => r.mbPerSec)),
        gcs: rs.map((r) => r.gcs).join('/'),
      };
    }
  }
  return results;
}

const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
console.log(
  `echo bench: node ${process.version}, ${values.rounds} rounds (medians), ${values.seconds} s measured after ${values.warmup} s warm-up each, ${haveTaskset ? 'server on CPU 0, load on CPU 1' : 'not pinned (no taskset)'}`,
);
const secs = [values.seconds!, values.warmup!];

if (values.only === undefined || values.only === 'tcp') {
  const size = Number(values.size);
  const bulk = Number(values['bulk-size']);
  const tcp =
    (conns: number, sz: number, mode: string): Scenario['args'] =>
    (port) => [join(build, 'loadgen'), '127.0.0.1', String(port), String(conns), String(sz), secs[0]!, mode, secs[1]!];
  const scenarios: Scenario[] = [
    { label: `ping-pong ${size} B, 32 conns`, args: tcp(32, size, 'pingpong') },
    { label: `ping-pong ${size} B, 256 conns`, args: tcp(256, size, 'pingpong') },
    { label: `bulk ${bulk} B writes, 32 conns`, args: tcp(32, bulk, 'bulk'), bulkSize: bulk },
  ];
  const servers: ServerSpec[] = [
    ['native C epoll', [join(build, 'echo'), '0']],
    ['metal-io', [process.execPath, '--import', 'tsx', 'examples/tcp_server.ts', '--port', '0', '--quiet'], { METAL_IO_BENCH_STATS: '1' }],
    ['node net', [process.execPath, 'bench/node-echo.mjs', '0']],
  ];
  const results = await section(servers, scenarios);
  const rows = [];
  for (const sc of scenarios) {
    const node = results['node net']![sc.label]!;
    for (const [name] of servers) {
      const r = results[name]![sc.label]!;
      rows.push(
        sc.bulkSize
          ? {
              scenario: sc.label,
              server: name,
              'MB/s': r.mbPerSec.toFixed(1),
              'vs node': x(r.mbPerSec, node.mbPerSec),
              'CPU-µs/MB': (r.cpuUsPerMsg * (1e6 / sc.bulkSize)).toFixed(0),
              GCs: r.gcs,
            }
          : {
              scenario: sc.label,
              server: name,
              'msgs/s': Math.round(r.msgsPerSec),
              'vs node': x(r.msgsPerSec, node.msgsPerSec),
              'CPU-µs/msg': r.cpuUsPerMsg.toFixed(2),
              'CPU vs node': x(r.cpuUsPerMsg, node.cpuUsPerMsg),
              GCs: r.gcs,
            },
      );
    }
  }
  console.log('TCP');
  console.table(rows);
}

if (values.only === undefined || values.only === 'rr') {
  const size = Number(values.size);
  const rr =
    (depth: number): Scenario['args'] =>
    (port) => [join(build, 'loadgen'), '127.0.0.1', String(port), '32', String(size), secs[0]!, 'pingpong', secs[1]!, String(depth)];
  const scenarios: Scenario[] = [
    { label: `${size} B, 32 conns, 1 in flight`, args: rr(1) },
    { label: `${size} B, 32 conns, 16 in flight`, args: rr(16) },
  ];
  const metal = (wait: string): ServerSpec => [
    `metal-io ${wait}`,
    [process.execPath, '--import', 'tsx', 'examples/tcp_server.ts', '--port', '0', '--quiet', '--wait', wait],
    { METAL_IO_BENCH_STATS: '1' },
  ];
  const servers: ServerSpec[] = [
    ['native C epoll', [join(build, 'echo'), '0']],
    metal('blocking'),
    metal('hybrid'),
    metal('async'),
    metal('run'),
    ['node net', [process.execPath, 'bench/node-echo.mjs', '0']],
  ];
  const results = await section(servers, scenarios);
  const rows = [];
  for (const sc of scenarios) {
    const base = results['metal-io blocking']![sc.label]!;
    const node = results['node net']![sc.label]!;
    for (const [name] of servers) {
      const r = results[name]![sc.label]!;
      rows.push({
        scenario: sc.label,
        server: name,
        'req/s': Math.round(r.msgsPerSec),
        'req/s vs blocking': x(r.msgsPerSec, base.msgsPerSec),
        'CPU-µs/req': r.cpuUsPerMsg.toFixed(2),
        'CPU vs blocking': x(r.cpuUsPerMsg, base.cpuUsPerMsg),
        'CPU vs node': x(r.cpuUsPerMsg, node.cpuUsPerMsg),
        GCs: r.gcs,
      });
    }
  }
  console.log('Request/response');
  console.table(rows);
}

if (values.only === undefined || values.only === 'multicore') {
  const size = Number(values.size);
  const tcp =
    (conns: number): Scenario['args'] =>
    (port) => [join(build, 'loadgen'), '127.0.0.1', String(port), String(conns), String(size), secs[0]!, 'pingpong', secs[1]!];
  const scenarios: Scenario[] = [
    { label: `ping-pong ${size} B, 32 conns`, args: tcp(32) },
    { label: `ping-pong ${size} B, 256 conns`, args: tcp(256) },
  ];
  const multicore = (workers: number): string[] => [
    process.execPath,
    '--import',
    'tsx',
    'examples/multicore_server.ts',
    '--port',
    '0',
    '--workers',
    String(workers),
  ];
  const servers: ServerSpec[] = [
    ['metal-io, 1 worker thread', multicore(1)],
    ['metal-io, 2 worker threads', multicore(2)],
    ['node cluster, 2 workers', [process.execPath, 'bench/node-cluster-echo.mjs', '0', '2']],
    ['node net, 1 process', [process.execPath, 'bench/node-echo.mjs', '0']],
  ];
  pinned = false;
  const results = await section(servers, scenarios);
  pinned = true;
  const rows = [];
  for (const sc of scenarios) {
    const cl = results['node cluster, 2 workers']![sc.label]!;
    for (const [name] of servers) {
      const r = results[name]![sc.label]!;
      rows.push({
        scenario: sc.label,
        server: name,
        'msgs/s': Math.round(r.msgsPerSec),
        'vs cluster': x(r.msgsPerSec, cl.msgsPerSec),
        'CPU-µs/msg': r.cpuUsPerMsg.toFixed(2),
        'CPU vs cluster': x(r.cpuUsPerMsg, cl.cpuUsPerMsg),
      });
    }
  }
  console.log(`Multi-core accept (${os.availableParallelism()} CPUs, nothing pinned; the load generator shares them)`);
  console.table(rows);
}

if (values.only === undefined || values.only === 'udp') {
  const size = Number(values.size);
  const label = `UDP ping-pong ${size} B, 32 sockets x 8 in flight`;
  const scenarios: Scenario[] = [
    { label, args: (port) => [join(build, 'udp_loadgen'), String(port), '32', '8', String(size), secs[0]!, secs[1]!] },
  ];
  const metal = (mode: string): string[] => [process.execPath, '--import', 'tsx', 'bench/udp-echo-metal.ts', '--port', '0', '--mode', mode];
  const servers: ServerSpec[] = [
    ['native C, per datagram', [join(build, 'udp_echo'), '0']],
    ['metal-io batched (recvMany/sendMany)', metal('batch'), { METAL_IO_BENCH_STATS: '1' }],
    ['metal-io per datagram (recvFromPeer/sendToPeer)', metal('datagram'), { METAL_IO_BENCH_STATS: '1' }],
    ['metal-io recvFrom/sendTo', metal('classic'), { METAL_IO_BENCH_STATS: '1' }],
    ['node dgram', [process.execPath, 'bench/udp-echo-node.mjs', '0']],
  ];
  const results = await section(servers, scenarios);
  const node = results['node dgram']![label]!;
  const c = results['native C, per datagram']![label]!;
  const rows = servers.map(([name]) => {
    const r = results[name]![label]!;
    return {
      server: name,
      'datagrams/s': Math.round(r.msgsPerSec),
      'CPU-µs/dgram': r.cpuUsPerMsg.toFixed(2),
      'user-µs/dgram': r.userUsPerMsg.toFixed(2),
      'CPU vs node': x(r.cpuUsPerMsg, node.cpuUsPerMsg),
      'CPU vs C': x(r.cpuUsPerMsg, c.cpuUsPerMsg),
      GCs: r.gcs,
    };
  });
  console.log(label);
  console.table(rows);
}
