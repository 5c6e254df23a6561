// Node's cluster with N workers (default 2), each the idiomatic net echo (s.pipe(s)): the
// multi-process answer to multi-core accept that metal-io's examples/multicore_server.ts is measured
// against. The primary accepts and hands connections out round-robin (cluster's default on Linux).
import cluster from 'node:cluster';
import { createServer } from 'node:net';

const port = Number(process.argv[2] ?? 0);
const n = Number(process.argv[3] ?? 2);
if (cluster.isPrimary) {
  let ready = 0;
  cluster.on('listening', (_w, address) => {
    if (++ready === n) console.log(`listening on 127.0.0.1:${address.port}`);
  });
  // Port 0 too is one port for all: the primary keys the listening handle by address and port.
  for (let i = 0; i < n; i++) cluster.fork({ ECHO_PORT: String(port) });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(Number(process.env.ECHO_PORT), '127.0.0.1');
}
