// turnserver.conf for coturn. No secret here: the shared secret (static-auth-secret) and the
// node's public IP are passed on the command line from the pod's env at start.
import type { RenderContext } from '../context.js';
import { turnTlsSecretName } from '../../api/names.js';
import { commentId } from './comment.js';
import { TURN_RUN_DIR, TURN_TLS_DIR, TURN_TLS_LISTEN_PORT } from './paths.js';

/**
 * Peers a relay may never reach: loopback, link-local (the metadata service), private, CGNAT and
 * other special-use ranges, so TURN cannot be used to probe the cluster or the cloud's internals.
 */
export const DENIED_PEER_RANGES = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.0.0.0-192.0.0.255',
  '192.88.99.0-192.88.99.255',
  '192.168.0.0-192.168.255.255',
  '198.18.0.0-198.19.255.255',
  '224.0.0.0-255.255.255.255',
  '::1',
  '64:ff9b::-64:ff9b::ffff:ffff',
  '::ffff:0.0.0.0-::ffff:255.255.255.255',
  '100::-100::ffff:ffff:ffff:ffff',
  '2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff',
  '2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
];

type Line = string | [key: string, value: string | number];

function line(l: Line): string {
  if (typeof l === 'string') return l;
  const [key, value] = l;
  const text = String(value);
  // Values come from validated fields (DNS names, numbers, constant paths and ranges); refuse
  // anything else, since whitespace, '#', '=' or a line break could change how coturn reads the
  // line, and anything long (coturn reads lines and values into fixed-size buffers).
  if (text.length > 255 || !/^[A-Za-z0-9._:/-]+$/.test(text)) {
    throw new Error(`turnserver.conf: refusing ${key}=${JSON.stringify(text.slice(0, 80))}: only up to 255 letters, digits and . _ : / - may reach this file`);
  }
  return `${key}=${text}`;
}

export function renderTurnserverConf(ctx: RenderContext): string {
  const { turn } = ctx.mc.spec;
  const realm = turn.domain ?? ctx.mc.spec.domain;
  const lines: Line[] = [
    `# coturn configuration rendered by meet-operator for ${commentId(ctx.mc.metadata.namespace, ctx.mc.metadata.name)}.`,
    '# static-auth-secret and external-ip are appended at start to a copy in memory, never stored here.',
    ['listening-port', turn.udpPort],
    ...(turnTlsSecretName(ctx.mc)
      ? ([
          ['tls-listening-port', TURN_TLS_LISTEN_PORT],
          ['cert', `${TURN_TLS_DIR}/tls.crt`],
          ['pkey', `${TURN_TLS_DIR}/tls.key`],
          'no-tlsv1',
          'no-tlsv1_1',
        ] as Line[])
      : (['no-tls', 'no-dtls'] as Line[])),
    ['min-port', turn.relayPortRange.start],
    ['max-port', turn.relayPortRange.end],
    ['realm', realm],
    ['server-name', realm],
    // TURN REST scheme: LiveKit mints "<expiry>:<identity>" / HMAC-SHA1(secret) per participant.
    'use-auth-secret',
    'fingerprint',
    'no-multicast-peers',
    'no-cli',
    'no-software-attribute',
    ['stale-nonce', 600],
    ['pidfile', `${TURN_RUN_DIR}/turnserver.pid`],
    // use-auth-secret needs no user database, but coturn opens its default SQLite file anyway and
    // logs an ERROR when the read-only image has none: give it a scratch one in the run volume.
    ['userdb', `${TURN_RUN_DIR}/turndb`],
    ['log-file', 'stdout'],
    'simple-log',
    ...DENIED_PEER_RANGES.map((r): Line => ['denied-peer-ip', r]),
  ];
  return lines.map(line).join('\n') + '\n';
}
