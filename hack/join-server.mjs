#!/usr/bin/env node
// Serves the browser join page (operator/test/node/browser/join.html) and livekit-client's browser
// build (node_modules) on HOST:PORT, for `make dev` (a person joins the dev stack from a browser) and
// the browser test. Prints "listening http://HOST:PORT/" once ready. Plain ESM, node builtins only.
//
// Usage: node hack/join-server.mjs [HOST] [PORT]    (defaults: 127.0.0.1, 0 = any free port)
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILES = {
  '/': ['operator/test/node/browser/join.html', 'text/html; charset=utf-8'],
  '/join.html': ['operator/test/node/browser/join.html', 'text/html; charset=utf-8'],
  '/livekit-client.umd.js': ['node_modules/livekit-client/dist/livekit-client.umd.js', 'text/javascript; charset=utf-8'],
};
const [host = '127.0.0.1', port = '0'] = process.argv.slice(2);

const server = createServer((req, res) => {
  const file = FILES[new URL(req.url ?? '/', 'http://x').pathname];
  if (!file) return res.writeHead(404).end('not found\n');
  try {
    res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' }).end(readFileSync(join(root, file[0])));
  } catch (e) {
    res.writeHead(500).end(`${e.message}\n`);
  }
});
server.listen(Number(port), host, () => {
  const a = server.address();
  console.log(`listening http://${a.address}:${a.port}/`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => server.close(() => process.exit(0)));
