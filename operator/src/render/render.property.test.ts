import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateMeetingCluster } from '../api/validate.js';
import { isNonEUStun } from '../api/semantic.js';
import { profileFor } from '../cloud/profiles.js';
import { manifestArb } from '../../test/corpus.js';
import { TEST_SECRETS } from '../../test/specs.js';
import { renderCluster, type RenderedObject } from './index.js';

const STANDARD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
  'meet.sovereign.io/cluster',
];

function checkInvariants(objects: RenderedObject[], namespace: string, profile: string): void {
  const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(new Set(ids).size, 'no duplicate objects').toBe(ids.length);

  for (const o of objects) {
    expect(o.metadata.namespace).toBe(namespace);
    for (const l of STANDARD_LABELS) expect(o.metadata.labels?.[l], `${o.kind}/${o.metadata.name} label ${l}`).toBeTruthy();
    expect(o.metadata.name.length).toBeLessThanOrEqual(o.kind === 'Service' ? 63 : 253);
  }

  // One SFU pod per node: host network plus required anti-affinity on the hostname.
  const sfu = objects.find((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'sfu') as any;
  expect(sfu.spec.template.spec.hostNetwork).toBe(true);
  expect(sfu.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');

  // No credential in any ConfigMap, and no non-EU STUN anywhere.
  const configText = objects.filter((o) => o.kind === 'ConfigMap').map((o) => Object.values(o.data as object).join('\n')).join('\n');
  for (const secret of Object.values(TEST_SECRETS)) expect(configText).not.toContain(secret);
  expect(JSON.stringify(objects)).not.toMatch(/google|twilio/i);
  const lk = parse((objects.find((o) => (o.data as any)?.['livekit.yaml'])!.data as any)['livekit.yaml']);
  for (const s of lk.rtc.stun_servers) expect(isNonEUStun(s)).toBe(false);

  // Every Service port is TCP; on profiles whose LBs refuse UDP that is a hard requirement.
  for (const svc of objects.filter((o) => o.kind === 'Service') as any[]) {
    for (const p of svc.spec.ports) expect(p.protocol).toBe('TCP');
  }
  if (!profileFor(profile)!.loadBalancerSupportsUdp) {
    const lbs = objects.filter((o) => o.kind === 'Service' && (o as any).spec.type === 'LoadBalancer') as any[];
    expect(lbs.flatMap((s) => s.spec.ports).every((p: any) => p.protocol === 'TCP')).toBe(true);
  }
}

describe('render (property)', () => {
  it('renders every valid spec without throwing and keeps the invariants', () => {
    let rendered = 0;
    fc.assert(
      fc.property(manifestArb, (m) => {
        const { errors, cluster } = validateMeetingCluster(m);
        if (!cluster) {
          // Invalid samples must say why, with a field path.
          expect(errors.length).toBeGreaterThan(0);
          for (const e of errors) expect(e.path).toMatch(/^(spec|metadata)/);
          return;
        }
        rendered++;
        checkInvariants(renderCluster(cluster, TEST_SECRETS), m.metadata.namespace, m.spec.cloud.profile);
      }),
      { numRuns: 300, seed: 7 },
    );
    // The generator aims at valid specs: most of them must reach the renderer.
    expect(rendered).toBeGreaterThan(250);
  }, 120_000); // 300 renders: ~3 s alone, much more on a 2-core machine running other suites
});
