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
/** Waits for Ready=True at the current generation; on a timeout, says what the conditions and the SFU pods showed. */
export const waitReady = (ns: string, timeoutMs = 90_000) =>
  eventually(`${ns}/visio Ready=True`, () => {
    const mc = tryGet('mc', 'visio', '-n', ns);
    return condition(mc, 'Ready')?.status === 'True' && mc.status.observedGeneration === mc.metadata.generation ? mc : undefined;
  }, timeoutMs).catch((e: Error) => {
    const mc = tryGet('mc', 'visio', '-n', ns);
    const conditions = (mc?.status?.conditions ?? []).map((c: any) => `${c.type}=${c.status} ${c.reason}: ${c.message}`);
    const pods = (tryGet('pods', '-n', ns)?.items ?? []).map((p: any) => `${p.metadata.name} ${p.status?.phase}${p.metadata.deletionTimestamp ? ' Terminating' : ''} ${p.status?.conditions?.find((c: any) => c.type === 'PodScheduled' && c.status !== 'True')?.message ?? ''}`);
    const everywhere = (tryGet('pods', '-A')?.items ?? []).map((p: any) => `${p.metadata.namespace}/${p.metadata.name} on ${p.spec.nodeName ?? '-'} ${p.status?.phase}${p.metadata.deletionTimestamp ? ' Terminating' : ''}`);
    throw new Error(`${e.message}\nall pods:\n${everywhere.join('\n')}\ngeneration ${mc?.metadata.generation}, observed ${mc?.status?.observedGeneration}\n${conditions.join('\n')}\npods:\n${pods.join('\n')}`);
  });
