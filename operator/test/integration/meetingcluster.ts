// MeetingCluster helpers shared by the integration suites that run the operator.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { eventually, kubectl, kubectlOk } from './kubectl.js';

/** The Intérieur example in namespace `ns`, with SFU pods small enough to share a kwok node with coturn. */
export function manifest(ns: string, mutate: (m: any) => void = () => {}): any {
  const m = parse(readFileSync('examples/interieur-outscale-cloudgouv.yaml', 'utf8'));
  m.metadata.namespace = ns;
  m.spec.sfu.resources = { requests: { cpu: '1', memory: '1Gi' } };
  mutate(m);
  return m;
}

/** A light cluster in `ns` (external Redis: no volume; TURN disabled: no coturn pods), SFU only. */
export const lightManifest = (ns: string, mutate: (m: any) => void = () => {}): any =>
  manifest(ns, (m) => {
    m.spec.redis = { mode: 'external', external: { address: 'redis.data.svc.cluster.local:6379' } };
    m.spec.turn = { mode: 'disabled' };
    m.spec.sovereignty.stunServers = ['stun.interieur.example:3478'];
    mutate(m);
  });

export const apply = (m: any) => kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(m));
export const getJson = (...args: string[]) => JSON.parse(kubectlOk(['get', ...args, '-o', 'json']));
export const tryGet = (...args: string[]) => {
  const r = kubectl(['get', ...args, '-o', 'json']);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
};
export const condition = (mc: any, type: string) => mc?.status?.conditions?.find((c: any) => c.type === type);

/** Waits for Ready=True on the current generation of ns/visio. */
export const waitReady = (ns: string, timeoutMs = 90_000) =>
  eventually(`${ns}/visio Ready=True`, () => {
    const mc = tryGet('mc', 'visio', '-n', ns);
    return condition(mc, 'Ready')?.status === 'True' && mc.status.observedGeneration === mc.metadata.generation ? mc : undefined;
  }, timeoutMs);
