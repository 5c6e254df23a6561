// Node's own net module, the idiomatic echo: s.pipe(s).
import { createServer } from 'node:net';

const port = Number(process.argv[2] ?? 0);
const server = createServer((s) => {
  s.on('error', () => {});
  s.pipe(s);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
