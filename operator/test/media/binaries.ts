// Where the media programs are: livekit-server from hack/media/build-livekit.sh (user cache),
// coturn and redis from Debian (hack/media/install-deps.sh). `make media-binaries` provides both.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalBinaries } from './pods.js';

export interface MediaBinaries extends LocalBinaries {
  turnutilsUclient: string;
  turnutilsPeer: string;
  redisCli: string;
  node: string;
}

let cached: MediaBinaries | undefined;

export function mediaBinaries(): MediaBinaries {
  if (cached) return cached;
  const dir = execFileSync('bash', ['hack/media/build-livekit.sh', '--print-dir'], { encoding: 'utf8' }).trim();
  const b: MediaBinaries = {
    livekitServer: join(dir, 'livekit-server'),
    turnserver: '/usr/bin/turnserver',
    turnutilsUclient: '/usr/bin/turnutils_uclient',
    turnutilsPeer: '/usr/bin/turnutils_peer',
    redisServer: '/usr/bin/redis-server',
    redisCli: '/usr/bin/redis-cli',
    node: process.execPath,
  };
  const missing = Object.entries(b).filter(([, p]) => !existsSync(p)).map(([k, p]) => `${k} (${p})`);
  if (missing.length) throw new Error(`media binaries missing: ${missing.join(', ')}; run: make media-binaries`);
  cached = b;
  return b;
}
