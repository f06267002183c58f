// A freshly started operator runs its first reconcile on cold code: with the image's JIT flags off
// (--no-opt, --no-maglev) nothing gets faster later either, but the first call of each function
// still parses and compiles it, and loads the renderers' libraries. Measured: validating and
// rendering a full cluster takes ~110 ms the first time and ~13 ms after. Running the pure part of a
// reconcile once on a built-in cluster at start-up (while the informers list) moves that cost out of
// the first real cluster's reconcile. Nothing here is sent, stored or logged.
import { validateMeetingCluster } from '../api/validate.js';
import type { KubeObject } from '../kube/object.js';
import { MEETING_CLUSTER } from '../kube/resources.js';
import { applyReason, ownerReferenceTo } from './diff.js';
import { generateSecrets } from '../credentials/generate.js';
import { desiredState } from './desired.js';
import { computeStatus } from './status.js';

/** Every renderer's path: coturn, managed Redis with storage, autoscaling, the Outscale profile. */
export const WARM_UP_CLUSTER: KubeObject = {
  apiVersion: MEETING_CLUSTER.apiVersion,
  kind: MEETING_CLUSTER.kind,
  metadata: { name: 'warm-up', namespace: 'warm-up', uid: '00000000-0000-0000-0000-000000000000', generation: 1 },
  spec: {
    ministry: 'warm-up',
    cloud: { profile: 'outscale', region: 'cloudgouv-eu-west-1', zones: ['cloudgouv-eu-west-1a', 'cloudgouv-eu-west-1b'], nodeCIDRs: ['10.0.0.0/16'] },
    domain: 'visio.warm-up.example',
    signalling: { certificate: 'orn:ows:idauth::000000000000:server-certificate/warm-up' },
    sfu: { image: 'registry.warm-up.example/livekit/livekit-server:v1.13.5' },
    turn: {
      mode: 'coturn',
      image: 'registry.warm-up.example/coturn/coturn:4.6.3-alpine',
      domain: 'turn.warm-up.example',
      udpDomain: 'turn-udp.warm-up.example',
      certificate: 'orn:ows:idauth::000000000000:server-certificate/warm-up-turn',
    },
    redis: { mode: 'managed', image: 'registry.warm-up.example/redis:7.4.2-alpine', storage: { size: '1Gi' } },
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 },
    sovereignty: { allowedRegistries: ['registry.warm-up.example/'] },
  },
};

/** One reconcile's pure work on WARM_UP_CLUSTER: how many children it rendered and how long it took. */
export function warmUp(): { children: number; ms: number } {
  const t0 = performance.now();
  const { cluster, errors } = validateMeetingCluster(WARM_UP_CLUSTER);
  if (!cluster) throw new Error(`the built-in warm-up cluster is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const { children, sovereignty } = desiredState(cluster, generateSecrets(), ownerReferenceTo(WARM_UP_CLUSTER));
  // The comparison of a child with its live self (the no-op path every resync takes).
  for (const child of children) applyReason(child, child);
  computeStatus({ generation: 1, cluster, applyErrors: [], sovereignty, now: new Date(0).toISOString() });
  return { children: children.length, ms: performance.now() - t0 };
}
