// TURN/STUN: coturn on the nodes (mode coturn) or the TURN/TLS entry of LiveKit's embedded TURN
// (mode embedded). Modes external and disabled render nothing here.
import { ApiObject, type Chart } from 'cdk8s';
import type { ExternalIPSource } from '../cloud/profiles.js';
import type { RenderContext } from './context.js';
import { TURN_CONFIG_DIR, TURN_CONFIG_FILE, TURN_RUN_DIR, TURN_SECRET_DIR, TURN_SECRET_FILE, TURN_TLS_DIR, TURN_TLS_LISTEN_PORT } from './config/paths.js';
import { renderTurnserverConf } from './config/turnserver.js';
import { configHash } from './hash.js';
import { ANNOTATION_CONFIG_HASH, objectName, standardLabels, turnTlsSecretName } from '../api/names.js';
import type { IssuerRef } from '../api/types.js';
import { addService, loadBalancerAnnotations } from './service.js';
import { addDisruptionBudget, addWorkload, NODE_IP, tcpProbe, type ContainerSpec, type Mount, type PortSpec } from './workload.js';
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
export function coturnStartScript(source: ExternalIPSource, sharedPids = false): string {
  return startScript({
    // coturn 4.6.1 has no SIGTERM handler. As PID 1 it ignores the signal; beside a sidecar in a
    // shared process namespace it is not PID 1, and the inherited disposition keeps it relaying
    // through the grace period all the same (terminationGracePeriodSeconds below).
    prelude: [...(sharedPids ? [`trap '' TERM`] : []), ...coturnExternalIPPrelude(source)],
    base: `${TURN_CONFIG_DIR}/${TURN_CONFIG_FILE}`,
    out: TURN_RUNTIME_CONFIG,
    lines: [
      { format: 'external-ip=%s', variable: EXTERNAL_IP_VAR },
      { format: 'static-auth-secret=%s', file: `${TURN_SECRET_DIR}/${TURN_SECRET_FILE}` },
    ],
    exec: `turnserver -c ${TURN_RUNTIME_CONFIG}`,
  });
}

/** How often the reloader compares the mounted certificate with the one coturn loaded. */
export const TLS_RELOAD_POLL_SECONDS = 10;

/**
 * The `tls-reloader` sidecar's script. The kubelet swaps a Secret volume's files atomically when the
 * Secret changes (a renewal); coturn 4.6.1 reloads its certificate and key on SIGUSR2 for new TLS
 * connections, keeping the ones open and every allocation (mainrelay.c reload_ssl_certs). Only the
 * certificate is compared: a new key always comes with a new certificate, and the key stays out of
 * this shell's memory. Backquotes, not $(...), which Kubernetes would expand itself.
 */
export function tlsReloadScript(): string {
  const log = `'{"level":"info","component":"tls-reloader","msg":"certificate changed: asked turnserver to reload it (SIGUSR2)","pid":'"\${p#/proc/}"'}'`;
  return [
    `cert=${TURN_TLS_DIR}/tls.crt`,
    'loaded=`cat "$cert"`',
    `while sleep ${TLS_RELOAD_POLL_SECONDS}; do`,
    '  current=`cat "$cert"` || continue',
    '  [ "$current" = "$loaded" ] && continue',
    '  for p in /proc/[0-9]*; do',
    '    [ "`cat $p/comm 2>/dev/null`" = turnserver ] || continue',
    `    kill -USR2 "\${p#/proc/}" && echo ${log}`,
    '  done',
    '  loaded="$current"',
    'done',
  ].join('\n');
}

export function addTurn(chart: Chart, ctx: RenderContext): void {
  const { mc } = ctx;
  const { turn } = mc.spec;
  if (turn.mode === 'coturn') addCoturn(chart, ctx);
  if (turn.mode !== 'coturn' && turn.mode !== 'embedded') return;
  if (turn.issuerRef) addTurnCertificate(chart, ctx, turn.issuerRef);
  const tlsSecret = turnTlsSecretName(mc);
  // TURN/TLS for clients behind strict firewalls: TCP on 443 through the LB. Without a TLS Secret
  // the LB terminates TLS and forwards plain TURN/TCP to the listening port.
  // Embedded: by name, so the LB reaches whichever SFU slot serves.
  const targetPort = turn.mode === 'embedded' ? 'turn-tls' : tlsSecret ? TURN_TLS_LISTEN_PORT : turn.udpPort;
  addService(chart, ctx, {
    name: objectName(mc, 'turnTls'),
    component: 'turn',
    target: turn.mode === 'coturn' ? 'turn' : 'sfu',
    type: 'LoadBalancer',
    ports: [{ name: 'turns', port: turn.tlsPort, targetPort }],
    annotations: loadBalancerAnnotations(ctx, turn.tlsPort, tlsSecret ? undefined : turn.certificate),
  });
}

/** The cert-manager Certificate for spec.turn.issuerRef: turn.domain, written where TLS is read. */
function addTurnCertificate(chart: Chart, ctx: RenderContext, issuerRef: IssuerRef): void {
  const { mc } = ctx;
  const name = objectName(mc, 'turnTls');
  new ApiObject(chart, `certificate-${name}`, {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, labels: standardLabels(mc, 'turn') },
    spec: {
      secretName: turnTlsSecretName(mc),
      dnsNames: [mc.spec.turn.domain],
      issuerRef: { name: issuerRef.name, kind: issuerRef.kind, group: issuerRef.group },
      // A fresh key with every renewal: a leaked key dies with its certificate.
      privateKey: { rotationPolicy: 'Always' },
    },
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
  const tlsSecret = turnTlsSecretName(mc);
  const tls: Mount | undefined = tlsSecret ? { volume: tlsVolume('tls', tlsSecret), path: TURN_TLS_DIR } : undefined;
  if (tls) {
    mounts.push(tls);
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
    // A renewed certificate reaches coturn without a restart: the reloader signals it.
    ...(tls ? { shareProcessNamespace: true, sidecars: [tlsReloader(turn.image, tls)] } : {}),
    container: {
      name: 'coturn',
      image: turn.image,
      command: ['sh', '-c', coturnStartScript(ctx.profile.externalIP, tls !== undefined)],
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

/** The sidecar that tells coturn to reload a renewed certificate (coturn's own image: sh, cat, sleep). */
function tlsReloader(image: string, tls: Mount): ContainerSpec {
  return {
    name: 'tls-reloader',
    image,
    command: ['sh', '-c', tlsReloadScript()],
    ports: [],
    mounts: [tls],
    resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { memory: '32Mi' } },
  };
}
