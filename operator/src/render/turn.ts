// TURN/STUN: coturn on the nodes (mode coturn) or the TURN/TLS entry of LiveKit's embedded TURN
// (mode embedded). Modes external and disabled render nothing here.
import type { Chart } from 'cdk8s';
import type { ExternalIPSource } from '../cloud/profiles.js';
import type { RenderContext } from './context.js';
import { TURN_CONFIG_DIR, TURN_CONFIG_FILE, TURN_RUN_DIR, TURN_SECRET_DIR, TURN_SECRET_FILE, TURN_TLS_DIR, TURN_TLS_LISTEN_PORT } from './config/paths.js';
import { renderTurnserverConf } from './config/turnserver.js';
import { configHash } from './hash.js';
import { ANNOTATION_CONFIG_HASH, objectName } from '../api/names.js';
import { addService, loadBalancerAnnotations } from './service.js';
import { addDisruptionBudget, addWorkload, NODE_IP, tcpProbe, type Mount, type PortSpec } from './workload.js';
import { configFileVolume, memoryVolume, secretFileVolume, tlsVolume } from './volumes.js';
import { EXTERNAL_IP_VAR, HOST_IP_ENV, coturnExternalIPPrelude, startScript } from './start-script.js';

/** uid of `nobody` in the coturn image: coturn needs no privilege (all ports unprivileged). */
export const TURN_USER = 65534;
/** The composed turnserver.conf (rendered file + external-ip + static-auth-secret), 0400, in memory. */
export const TURN_RUNTIME_CONFIG = `${TURN_RUN_DIR}/turnserver.conf`;

/**
 * Shell that starts coturn. The node's public IP is only known at run time (1:1 NAT on Outscale),
 * and the shared secret must stay out of the ConfigMap and off every command line: both are
 * appended to a copy of the rendered file on a memory-backed volume, which coturn then reads.
 */
export function coturnStartScript(source: ExternalIPSource): string {
  return startScript({
    prelude: coturnExternalIPPrelude(source),
    base: `${TURN_CONFIG_DIR}/${TURN_CONFIG_FILE}`,
    out: TURN_RUNTIME_CONFIG,
    lines: [
      { format: 'external-ip=%s', variable: EXTERNAL_IP_VAR },
      { format: 'static-auth-secret=%s', file: `${TURN_SECRET_DIR}/${TURN_SECRET_FILE}` },
    ],
    exec: `turnserver -c ${TURN_RUNTIME_CONFIG}`,
  });
}

export function addTurn(chart: Chart, ctx: RenderContext): void {
  const { mc } = ctx;
  const { turn } = mc.spec;
  if (turn.mode === 'coturn') addCoturn(chart, ctx);
  if (turn.mode !== 'coturn' && turn.mode !== 'embedded') return;
  // TURN/TLS for clients behind strict firewalls: TCP on 443 through the LB. Without a TLS Secret
  // the LB terminates TLS and forwards plain TURN/TCP to the listening port.
  // Embedded: by name, so the LB reaches whichever SFU slot serves.
  const targetPort = turn.mode === 'embedded' ? 'turn-tls' : turn.tlsSecretName ? TURN_TLS_LISTEN_PORT : turn.udpPort;
  addService(chart, ctx, {
    name: objectName(mc, 'turnTls'),
    component: 'turn',
    target: turn.mode === 'coturn' ? 'turn' : 'sfu',
    type: 'LoadBalancer',
    ports: [{ name: 'turns', port: turn.tlsPort, targetPort }],
    annotations: loadBalancerAnnotations(ctx, turn.tlsPort, turn.tlsSecretName ? undefined : turn.certificate),
  });
}

function addCoturn(chart: Chart, ctx: RenderContext): void {
  const { mc, refs } = ctx;
  const { turn } = mc.spec;
  const conf = renderTurnserverConf(ctx);
  const config = configFileVolume(chart, ctx, 'turn', 'turnConfig', TURN_CONFIG_FILE, conf);
  const mounts: Mount[] = [
    { volume: config, path: TURN_CONFIG_DIR },
    { volume: secretFileVolume('shared-secret', refs.turn!.name, refs.turn!.key, TURN_SECRET_FILE), path: TURN_SECRET_DIR },
    // In memory: the composed configuration holds the shared secret.
    { volume: memoryVolume('run'), path: TURN_RUN_DIR, readOnly: false },
  ];
  const ports: PortSpec[] = [
    { name: 'turn-udp', port: turn.udpPort, protocol: 'UDP' },
    { name: 'turn-tcp', port: turn.udpPort },
  ];
  if (turn.tlsSecretName) {
    mounts.push({ volume: tlsVolume('tls', turn.tlsSecretName), path: TURN_TLS_DIR });
    ports.push({ name: 'turn-tls', port: TURN_TLS_LISTEN_PORT });
  }
  addWorkload(chart, ctx, {
    component: 'turn',
    name: objectName(mc, 'turn'),
    replicas: turn.replicas,
    hostNetwork: true,
    oneAtATime: true,
    user: TURN_USER,
    // coturn 4.6.1 has no SIGTERM handler and, as PID 1, ignores the signal: it relays on until it
    // is killed at the end of this period, and its relayed calls restart ICE then (about 15 s
    // without sound, restarts.test.ts). Longer would only slow a rollout down.
    terminationGracePeriodSeconds: 60,
    podAnnotations: { [ANNOTATION_CONFIG_HASH]: configHash(conf) },
    zones: mc.spec.cloud.zones,
    container: {
      name: 'coturn',
      image: turn.image,
      command: ['sh', '-c', coturnStartScript(ctx.profile.externalIP)],
      ports,
      env: { [HOST_IP_ENV]: NODE_IP },
      mounts,
      liveness: tcpProbe(turn.udpPort, 10, 3),
      readiness: tcpProbe(turn.udpPort, 5, 2),
      resources: turn.resources,
    },
  });
  addDisruptionBudget(chart, ctx, 'turn', objectName(mc, 'turn'));
}
