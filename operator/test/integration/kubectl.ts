// Integration tests talk to the real local API server through the real kubectl built by hack/.
import { execFileSync, spawnSync } from 'node:child_process';
import { inject } from 'vitest';

const binDir = execFileSync('bash', ['hack/build-k8s.sh', '--print-dir'], { encoding: 'utf8' }).trim();
export const KUBECTL = `${binDir}/kubectl`;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(args: string[], input?: string): Result {
  const r = spawnSync(KUBECTL, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: inject('kubeconfig') },
    timeout: 120_000,
    maxBuffer: 64 * 2 ** 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** kubectl that must succeed; the error names the command and what the server said. */
export function kubectlOk(args: string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export const ensureNamespace = (ns: string): void => {
  kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
};

export function eventually<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  return eventuallyAsync(what, async () => fn(), timeoutMs, everyMs);
}

/** eventually() for a check that answers later (an HTTP query, say). */
export async function eventuallyAsync<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Waits until each CRD is Established. Not `kubectl wait --for=condition=Established`: it fails at
 * once ("status.conditions accessor error: <nil>") when it reads a CRD whose conditions are not set
 * yet (just created, or re-applied while helm replaced it), instead of waiting for them.
 */
export async function crdsEstablished(...names: string[]): Promise<void> {
  for (const name of names) {
    await eventually(`crd/${name} Established`, () => {
      const r = kubectl(['get', 'crd', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
      return r.code === 0 && r.stdout === 'True' ? true : undefined;
    }, 60_000, 200);
  }
}
