// livekit.yaml: only real LiveKit keys (strict config mode stays on) and no secret at all. The API
// keys and the TURN secret are files mounted from Secrets; the Redis password comes from a
// secretKeyRef env (LIVEKIT_REDIS_PASSWORD) that LiveKit's env overrides read.
import { stringify } from 'yaml';
import type { RenderContext } from '../context.js';
import { objectName, turnTlsSecretName } from '../../api/names.js';
import { PRINTABLE_ASCII, commentId } from './comment.js';
import { slotPorts } from '../sfu-slot.js';
import {
  LIVEKIT_KEYS_DIR,
  LIVEKIT_TLS_DIR,
  LIVEKIT_TURN_SECRET_DIR,
  REDIS_PORT,
  TURN_SECRET_FILE,
} from './paths.js';

export const LIVEKIT_REDIS_PASSWORD_ENV = 'LIVEKIT_REDIS_PASSWORD';

/** STUN servers LiveKit queries for its public IP: ours, never a public non-EU one. */
export function stunServersOf(ctx: RenderContext): string[] {
  const { turn, sovereignty } = ctx.mc.spec;
  if (sovereignty.stunServers.length) return sovereignty.stunServers;
  if (turn.mode === 'coturn' && turn.udpDomain) return [`${turn.udpDomain}:${turn.udpPort}`];
  if (turn.mode === 'external' && turn.external && turn.external.protocol !== 'tls') return [`${turn.external.host}:${turn.external.port}`];
  return [];
}

function turnServers(ctx: RenderContext) {
  const { turn } = ctx.mc.spec;
  const secret_file = `${LIVEKIT_TURN_SECRET_DIR}/${TURN_SECRET_FILE}`;
  if (turn.mode === 'coturn' && turn.domain) {
    return [
      { host: turn.domain, port: turn.tlsPort, protocol: 'tls', secret_file },
      { host: turn.udpDomain, port: turn.udpPort, protocol: 'udp', secret_file },
    ];
  }
  if (turn.mode === 'external' && turn.external) {
    const { host, port, protocol } = turn.external;
    return [{ host, port, protocol, secret_file }];
  }
  return undefined;
}

function embeddedTurn(ctx: RenderContext) {
  const { turn } = ctx.mc.spec;
  if (turn.mode !== 'embedded') return undefined;
  const ports = slotPorts(ctx.mc, ctx.options.sfuSlot ?? 'a');
  return {
    enabled: true,
    domain: turn.domain,
    tls_port: ports.turnTls,
    udp_port: ports.turnUdp,
    relay_range_start: turn.relayPortRange.start,
    relay_range_end: turn.relayPortRange.end,
    ...(turnTlsSecretName(ctx.mc)
      ? { cert_file: `${LIVEKIT_TLS_DIR}/tls.crt`, key_file: `${LIVEKIT_TLS_DIR}/tls.key` }
      : { external_tls: true }),
  };
}

function redisAddress(ctx: RenderContext) {
  const { redis } = ctx.mc.spec;
  if (redis.mode === 'external' && redis.external) {
    return { address: redis.external.address, ...(redis.external.tls ? { tls: { enabled: true } } : {}) };
  }
  const { namespace } = ctx.mc.metadata;
  return { address: `${objectName(ctx.mc, 'redis')}.${namespace}.svc.cluster.local:${REDIS_PORT}` };
}

export function livekitConfig(ctx: RenderContext): Record<string, unknown> {
  const { sfu } = ctx.mc.spec;
  const stun = stunServersOf(ctx);
  const turnServersList = turnServers(ctx);
  const turn = embeddedTurn(ctx);
  const ports = slotPorts(ctx.mc, ctx.options.sfuSlot ?? 'a');
  return {
    port: ports.http,
    rtc: {
      tcp_port: ports.rtcTcp,
      port_range_start: sfu.rtc.udpPortRange.start,
      port_range_end: sfu.rtc.udpPortRange.end,
      // The node's public address comes from the pod (NODE_IP: the node's address, or the cloud's
      // metadata service behind 1:1 NAT), never from a STUN lookup at start: that would make every
      // SFU restart depend on the ministry's DNS for our own STUN name (and, with no STUN server of
      // ours, on Google's and Twilio's). stun_servers are still what clients are offered.
      use_external_ip: false,
      stun_servers: stun,
      ...(turnServersList ? { turn_servers: turnServersList } : {}),
    },
    redis: redisAddress(ctx),
    key_file: `${LIVEKIT_KEYS_DIR}/keys.yaml`,
    room: { max_participants: sfu.maxParticipantsPerRoom, empty_timeout: sfu.emptyRoomTimeoutSeconds },
    ...(turn ? { turn } : {}),
    prometheus: { port: ports.metrics },
    logging: { level: sfu.logLevel, json: true },
  };
}

/**
 * Every string value must be printable ASCII: the yaml library writes U+2028 unquoted and NEL raw
 * inside quotes, and YAML 1.1 parsers (libyaml and its Go ports) may read either as a line break
 * (the API server's folds a NEL into a space). Validation only admits DNS names, host:port and
 * enums here, so this refuses what a bug elsewhere would let through.
 */
function refuseUnprintable(v: unknown, path: string): void {
  if (typeof v === 'string' && !PRINTABLE_ASCII.test(v)) throw new Error(`livekit.yaml: refusing ${path}=${JSON.stringify(v.slice(0, 80))}: only printable ASCII may reach this file`);
  if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) refuseUnprintable(x, path ? `${path}.${k}` : k);
}

export function renderLivekitYaml(ctx: RenderContext): string {
  const config = livekitConfig(ctx);
  refuseUnprintable(config, '');
  return (
    `# livekit-server configuration rendered by meet-operator for ${commentId(ctx.mc.metadata.namespace, ctx.mc.metadata.name)}.\n` +
    '# Secrets are not here: API keys and the TURN secret are mounted files, the Redis password an env var.\n' +
    stringify(config, { lineWidth: 0 })
  );
}
