// The LiveKit SFU: config, host-network Deployment (one pod per node), disruption budget and the
// signalling load balancer.
import { ApiObject, type Chart } from 'cdk8s';
import { scalingMode, withinBounds } from '../api/autoscaling.js';
import type { RenderContext } from './context.js';
import { LIVEKIT_REDIS_PASSWORD_ENV, renderLivekitYaml } from './config/livekit.js';
import {
  LIVEKIT_CONFIG_DIR,
  LIVEKIT_CONFIG_FILE,
  LIVEKIT_KEYS_DIR,
  LIVEKIT_TLS_DIR,
  LIVEKIT_TURN_SECRET_DIR,
  TURN_SECRET_FILE,
} from './config/paths.js';
import { configHash } from './hash.js';
import { ANNOTATION_CONFIG_HASH, ANNOTATION_TURN_TLS_REVISION, LABEL_SFU_SLOT, objectName, selectorLabels, standardLabels, turnTlsSecretName } from '../api/names.js';
import { addService, loadBalancerAnnotations } from './service.js';
import { addDisruptionBudget, addWorkload, httpProbe, NODE_IP, tcpProbe, type Mount, type PortSpec } from './workload.js';
import { configFileVolume, secretEnv, secretFileVolume, tlsVolume } from './volumes.js';
import { PUBLIC_IP_VAR, publicIPPrelude, startScript } from './start-script.js';
import type { ExternalIPSource } from '../cloud/profiles.js';
import { slotDeploymentName, slotObjects, slotPorts, slotSelector, type SfuSlot } from './sfu-slot.js';

/** Non-root user of the SFU container (ports are all unprivileged). */
export const SFU_USER = 1000;

/**
 * spec.replicas of the SFU Deployment: the spec's count, nothing when an HPA owns it, or the count
 * the participants autoscaler handed over (a new cluster starts at minReplicas), within the bounds
 * (the spec's bounds may have just moved under the autoscaler's last count).
 */
export function sfuDeploymentReplicas(ctx: RenderContext): number | undefined {
  const { autoscaling, sfu } = ctx.mc.spec;
  switch (scalingMode(autoscaling)) {
    case 'fixed':
      return sfu.replicas;
    case 'cpu':
      return undefined;
    case 'participants':
      return withinBounds(autoscaling, ctx.options.autoscaledReplicas ?? autoscaling.minReplicas);
  }
}

export const NODE_IP_ENV = 'NODE_IP';
/** Where livekit-server lives in its image (upstream's and ours). */
export const LIVEKIT_BINARY = '/livekit-server';

/**
 * The node's own address needs no shell: NODE_IP comes from the downward API and the image's
 * entrypoint runs as is. Behind 1:1 NAT the public address comes from the metadata service, so a
 * shell (upstream's Alpine image and ours both have sh and wget) reads it before starting LiveKit.
 */
function sfuCommand(source: ExternalIPSource): { command: string[] } | { args: string[] } {
  const args = ['--config', `${LIVEKIT_CONFIG_DIR}/${LIVEKIT_CONFIG_FILE}`];
  if (source.kind === 'hostIP') return { args };
  const script = startScript({ prelude: [...publicIPPrelude(source), `export ${NODE_IP_ENV}="$${PUBLIC_IP_VAR}"`], exec: `${LIVEKIT_BINARY} ${args.join(' ')}` });
  return { command: ['sh', '-c', script] };
}

/**
 * The SFU: the pods of one slot (ctx.options.sfuSlot; the controller picks it, see
 * controller/sfu-upgrade.ts), and what serves both slots (disruption budget, Services by port name).
 */
export function addSfu(chart: Chart, ctx: RenderContext): void {
  const slot: SfuSlot = ctx.options.sfuSlot ?? 'a';
  const { mc, refs } = ctx;
  const { sfu, turn } = mc.spec;
  const own = slotPorts(mc, slot);
  const livekitYaml = renderLivekitYaml(ctx);
  const config = configFileVolume(chart, ctx, 'sfu', slotObjects(slot).config, LIVEKIT_CONFIG_FILE, livekitYaml);

  const mounts: Mount[] = [
    { volume: config, path: LIVEKIT_CONFIG_DIR },
    { volume: secretFileVolume('api-keys', refs.livekitKeys.name, refs.livekitKeys.key, 'keys.yaml'), path: LIVEKIT_KEYS_DIR },
  ];
  if (refs.turn) {
    mounts.push({ volume: secretFileVolume('turn-secret', refs.turn.name, refs.turn.key, TURN_SECRET_FILE), path: LIVEKIT_TURN_SECRET_DIR });
  }
  const ports: PortSpec[] = [
    { name: 'http', port: own.http },
    { name: 'rtc-tcp', port: own.rtcTcp },
    { name: 'metrics', port: own.metrics },
  ];
  if (turn.mode === 'embedded') {
    ports.push({ name: 'turn-udp', port: own.turnUdp, protocol: 'UDP' }, { name: 'turn-tls', port: own.turnTls });
    const tlsSecret = turnTlsSecretName(mc);
    if (tlsSecret) mounts.push({ volume: tlsVolume('turn-tls', tlsSecret), path: LIVEKIT_TLS_DIR });
  }
  const turnTlsRevision = turn.mode === 'embedded' ? ctx.options.turnTlsRevision : undefined;

  addWorkload(chart, ctx, {
    component: 'sfu',
    name: slotDeploymentName(mc, slot),
    replicas: sfuDeploymentReplicas(ctx),
    podLabels: { [LABEL_SFU_SLOT]: slot },
    selector: slotSelector(mc, slot),
    hostNetwork: true,
    user: SFU_USER,
    // LiveKit drains on SIGTERM and exits when its last participant leaves; this is the only bound.
    terminationGracePeriodSeconds: sfu.drainSeconds,
    podAnnotations: { [ANNOTATION_CONFIG_HASH]: configHash(livekitYaml), ...(turnTlsRevision ? { [ANNOTATION_TURN_TLS_REVISION]: turnTlsRevision } : {}) },
    nodeSelector: sfu.nodeSelector,
    tolerations: sfu.tolerations,
    zones: mc.spec.cloud.zones,
    container: {
      name: 'livekit-server',
      image: sfu.image,
      ...sfuCommand(ctx.profile.externalIP),
      ports,
      env: {
        // livekit-server reads its --node-ip flag from NODE_IP: the address it advertises.
        ...(ctx.profile.externalIP.kind === 'hostIP' ? { [NODE_IP_ENV]: NODE_IP } : {}),
        ...(refs.redis ? { [LIVEKIT_REDIS_PASSWORD_ENV]: secretEnv(refs.redis.name, refs.redis.key) } : {}),
      },
      mounts,
      // GET / fails when node stats go stale (e.g. Redis down): fine for readiness, fatal as
      // liveness (livekit#4663 restarted whole fleets), so liveness only checks the port.
      liveness: tcpProbe(own.http, 10, 3),
      readiness: httpProbe('/', own.http, 5, 2),
      startup: tcpProbe(own.http, 2, 60),
      resources: sfu.resources,
    },
  });
  addDisruptionBudget(chart, ctx, 'sfu', objectName(mc, 'sfu'));

  const { signalling } = mc.spec;
  addService(chart, ctx, {
    name: objectName(mc, 'signalling'),
    component: 'signalling',
    target: 'sfu',
    type: 'LoadBalancer',
    ports: [{ name: signalling.certificate ? 'wss' : 'ws', port: signalling.port, targetPort: 'http' }],
    annotations: loadBalancerAnnotations(ctx, signalling.port, signalling.certificate),
  });
  if (mc.spec.monitoring.serviceMonitor) addServiceMonitor(chart, ctx);
}

function addServiceMonitor(chart: Chart, ctx: RenderContext): void {
  const { mc } = ctx;
  const name = objectName(mc, 'metrics');
  addService(chart, ctx, { name, component: 'sfu', type: 'ClusterIP', ports: [{ name: 'metrics', port: mc.spec.sfu.metricsPort, targetPort: 'metrics' }] });
  new ApiObject(chart, `${name}-monitor`, {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name, labels: standardLabels(mc, 'sfu') },
    spec: {
      selector: { matchLabels: selectorLabels(mc, 'sfu') },
      endpoints: [{ port: 'metrics', interval: '15s' }],
    },
  });
}
