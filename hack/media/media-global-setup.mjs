// vitest globalSetup of the `media` project: makes sure the real programs are there before any
// test starts. livekit-server is built from the Go module proxy when missing (a no-op when cached;
// a first build takes minutes); coturn and redis are only checked (installing system packages is
// `make media-binaries`, which needs root).
import { execFileSync } from 'node:child_process';

export default function setup() {
  if (process.getuid?.() !== 0) {
    throw new Error('the media tests need root: they run every process in a private network namespace (unshare --net) as the pod users');
  }
  try {
    execFileSync('bash', ['hack/media/install-deps.sh', '--check'], { stdio: ['ignore', 'pipe', 'inherit'] });
  } catch (e) {
    throw new Error(`coturn / redis-server not installed (${String(e.stdout ?? '').trim()}): run make media-binaries`);
  }
  execFileSync('bash', ['hack/media/build-livekit.sh'], { stdio: ['ignore', 'inherit', 'inherit'] });
}
