// `meet-operator check` for one MeetingCluster: through its public endpoints, as a participant's
// device reaches them. Kubernetes is only read for what a participant is given anyway (the keys that
// sign its token) and to name each SFU node, so that one call goes through every node.
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { LABEL_COMPONENT, LABEL_INSTANCE } from '../api/names.js';
import type { MeetingCluster } from '../api/types.js';
import { apiKeyPair, joinToken, loadCluster } from './access.js';
import type { KubeHttp } from '../kube/http.js';
import { parseExposition } from '../scaling/exposition.js';
import { LIVEKIT_METRICS } from '../scaling/metric-names.js';
import { nodeIdOf, sfuMetricsPort } from '../scaling/reader.js';
import { runCall } from './call.js';
import { connectionHint, errorText, turnRefusalHint, validateHint } from './hints.js';
import { clusterReport, type CheckResult, type CheckStatus, type ClusterReport } from './report.js';
import { iceCheck, openIceSession } from './ice.js';
import { joinOnce, validateToken, type Joined } from './signal.js';
import { publiclyTrusted, stunBinding, turnAllocate } from './stun.js';
import { allowedIceHosts, foreignIceUrls, parseIceUrl, publicNames, signallingUrls, type IceUrl } from './targets.js';

export interface CheckOptions {
  /** Signalling URL instead of status.endpoints.signalling (e.g. from inside the cluster). */
  url?: string;
  timeoutMs: number;
  /** Real calls through every SFU node (default on; off: the checks up to TURN only). */
  media: boolean;
  /** Called as each check ends (progress on a terminal). */
  onResult?: (c: CheckResult) => void;
}

type Outcome = { status: CheckStatus; detail: string; hint?: string };
const pass = (detail: string): Outcome => ({ status: 'pass', detail });
const fail = (detail: string, hint: string): Outcome => ({ status: 'fail', detail, hint });

/** The host and port a ws(s):// or http(s):// URL connects to. */
function endpointOf(url: string): { host: string; port: number; transport: 'tcp' | 'tls' } {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  return { host: u.hostname, port: Number(u.port) || (secure ? 443 : 80), transport: secure ? 'tls' : 'tcp' };
}

/** LiveKit node id of each running SFU pod, read from its metrics through the API server's pod proxy. */
async function sfuNodes(http: KubeHttp, mc: MeetingCluster): Promise<{ pod: string; nodeId: string }[]> {
  const ns = mc.metadata.namespace;
  const selector = `${LABEL_INSTANCE}=${mc.metadata.name},${LABEL_COMPONENT}=sfu`;
  const pods = (await http.request('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: selector } })).items as any[];
  const running = pods.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  return Promise.all(
    running.map(async (p) => {
      const port = sfuMetricsPort(p, mc.spec.sfu.metricsPort);
      const text: string = await http.request('GET', `/api/v1/namespaces/${ns}/pods/${p.metadata.name}:${port}/proxy/metrics`, { text: true });
      const nodeId = nodeIdOf(parseExposition(text, [LIVEKIT_METRICS.participants]));
      if (!nodeId) throw new Error(`pod ${p.metadata.name}: no node_id in its metrics`);
      return { pod: p.metadata.name as string, nodeId };
    }),
  );
}

/**
 * What the cluster's own pods say when signalling fails: the components with a pod not ready (or
 * none at all), e.g. "Redis: 0 of 0 pods ready". Read, not inferred: the likeliest cause to look at.
 */
async function componentsNotReady(http: KubeHttp, mc: MeetingCluster): Promise<string> {
  const pods = (await http.request('GET', `/api/v1/namespaces/${mc.metadata.namespace}/pods`, { query: { labelSelector: `${LABEL_INSTANCE}=${mc.metadata.name}` } })).items as any[];
  const ready = (p: any) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
  // Redis first: an SFU without it turns unready too, as a consequence.
  const components: [string, string][] = [['redis', 'Redis'], ['turn', 'TURN'], ['sfu', 'SFU']];
  const wanted = components.filter(([c]) => c !== 'redis' || mc.spec.redis.mode === 'managed').filter(([c]) => c !== 'turn' || mc.spec.turn.mode === 'coturn');
  return wanted
    .map(([c, label]) => {
      const of = pods.filter((p) => p.metadata.labels?.[LABEL_COMPONENT] === c);
      return of.length && of.every(ready) ? '' : `${label}: ${of.filter(ready).length} of ${of.length} pods ready`;
    })
    .filter(Boolean)
    .join('; ');
}

type Run = (group: string, title: string, fn: () => Promise<Outcome>) => Promise<Outcome>;

/**
 * ICE straight to the SFU, UDP and TCP each on its own: one publisher negotiation, then a connectivity
 * check to the SFU's candidates of each transport. As in ICE, any candidate that answers is enough.
 */
async function checkIce(run: Run, cluster: MeetingCluster, wsUrl: string, token: string, timeoutMs: number): Promise<void> {
  let opened: Awaited<ReturnType<typeof openIceSession>> | undefined;
  let openError: unknown;
  try {
    opened = await openIceSession(wsUrl, token, timeoutMs);
  } catch (e) {
    openError = e;
  }
  const { rtc } = cluster.spec.sfu;
  const ports = { udp: `spec.sfu.rtc.udpPortRange ${rtc.udpPortRange.start}-${rtc.udpPortRange.end}`, tcp: `spec.sfu.rtc.tcpPort ${rtc.tcpPort}` };
  try {
    for (const transport of ['udp', 'tcp'] as const) {
      const label = transport === 'udp' ? 'ICE/UDP' : 'ICE/TCP';
      const seen = new Set<string>();
      const candidates = (opened?.session.candidates ?? []).filter((c) => c.transport === transport && c.tcpType !== 'active' && !seen.has(`${c.address}:${c.port}`) && seen.add(`${c.address}:${c.port}`));
      await run('ice', `${label} to the SFU${candidates.length ? ` ${candidates.map((c) => `${c.address}:${c.port}`).join(', ')}` : ''}`, async () => {
        if (!opened) return fail(errorText(openError), 'the SFU does not answer a publisher offer over signalling: see its logs (kubectl logs) for the negotiation error');
        if (!candidates.length) {
          return transport === 'tcp'
            ? { status: 'warn', detail: 'the SFU offers no ICE/TCP candidate', hint: `clients whose network blocks UDP then need TURN/TLS: set ${ports.tcp} and open it` }
            : fail('the SFU offers no UDP candidate', `LiveKit gathered no UDP address: check ${ports.udp} and how it learns its public IP (spec.cloud)`);
        }
        const failures: string[] = [];
        let firstError: unknown;
        for (const c of candidates) {
          try {
            const r = await iceCheck(c, opened.session, timeoutMs);
            return pass(`${c.address}:${c.port} (${c.type}) answered the ICE check in ${r.ms} ms, seeing this client as ${r.mapped}`);
          } catch (e) {
            firstError ??= e;
            failures.push(`${c.address}:${c.port}: ${errorText(e)}`);
          }
        }
        const c = candidates[0]!;
        return fail(failures.join('; '), `${connectionHint(firstError, { host: c.address, port: c.port, transport })} (the SFU's ${transport === 'udp' ? 'UDP ports' : 'ICE/TCP port'}: ${ports[transport]}, on every SFU node)`);
      });
    }
  } finally {
    opened?.close();
  }
}

export async function checkCluster(http: KubeHttp, namespace: string, name: string, o: CheckOptions): Promise<ClusterReport> {
  const checks: CheckResult[] = [];
  const run: Run = async (group, title, fn) => {
    const t0 = Date.now();
    let out: Outcome;
    try {
      out = await fn();
    } catch (e) {
      out = fail(errorText(e), 'unexpected error: see the detail');
    }
    const result: CheckResult = { group, name: title, ...out, ms: Date.now() - t0 };
    checks.push(result);
    o.onResult?.(result);
    return out;
  };
  const skip = (group: string, title: string, why: string) => {
    const result: CheckResult = { group, name: title, status: 'skip', detail: why };
    checks.push(result);
    o.onResult?.(result);
  };
  const done = () => clusterReport(namespace, name, checks);

  // The cluster as the operator sees it: not ready is a warning (the checks below say whether it matters).
  let loaded: Awaited<ReturnType<typeof loadCluster>> | undefined;
  await run('cluster', 'MeetingCluster', async () => {
    loaded = await loadCluster(http, namespace, name);
    const ready = (loaded.live.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
    if (ready?.status === 'True') return pass('Ready');
    return { status: 'warn', detail: `not Ready: ${ready?.reason ?? 'no status yet'}: ${ready?.message ?? ''}`.trim(), hint: `kubectl describe mc ${name} -n ${namespace}` };
  });
  if (!loaded) return done();
  const { live, cluster } = loaded;

  for (const host of publicNames(cluster)) {
    await run('dns', host, async () => {
      try {
        const addrs = await lookup(host, { all: true });
        return pass(addrs.map((a) => a.address).join(', '));
      } catch (e) {
        return fail(errorText(e), `no DNS record for ${host}: create it (an A record to the load balancer or the nodes, as the cloud profile's README section says)`);
      }
    });
  }

  const urls = signallingUrls(cluster, live.status?.endpoints?.signalling, o.url);
  const identity = `meet-check-${randomBytes(4).toString('hex')}`;
  let keys: { key: string; secret: string } | undefined;
  await run('signalling', 'API keys', async () => {
    keys = await apiKeyPair(http, cluster);
    return pass(`read from the cluster's Secret (key ${keys.key})`);
  });
  if (!keys) return done();
  const pair = keys;
  const token = (who: string, room: string) => joinToken(pair, who, room, 600);

  // The likeliest cause of a signalling failure is often in the cluster itself: say what its pods show.
  const withCause = async (hint: string) => {
    const notReady = await componentsNotReady(http, cluster).catch(() => '');
    return notReady ? `${notReady} (kubectl describe mc ${name} -n ${namespace}); ${hint}` : hint;
  };
  const validated = await run('signalling', `token accepted by ${urls.http}`, async () => {
    try {
      const r = await validateToken(urls.http, await token(identity, `${identity}-signal`), o.timeoutMs);
      return r.status === 200 ? pass('LiveKit accepts a token signed with the cluster\'s keys') : fail(`HTTP ${r.status}: ${r.body.trim()}`, await withCause(validateHint(r.status, r.body)));
    } catch (e) {
      return fail(errorText(e), await withCause(connectionHint(e, endpointOf(urls.http))));
    }
  });
  let joined: Joined | undefined;
  if (validated.status === 'pass') {
    await run('signalling', `WebSocket join ${urls.ws}`, async () => {
      try {
        joined = await joinOnce(urls.ws, await token(identity, `${identity}-signal`), o.timeoutMs);
        return pass(`joined through node ${joined.nodeId} (LiveKit ${joined.version}); ${joined.iceServers.length} ICE server entries offered`);
      } catch (e) {
        // A plain GET of the join URL tells: 400 is LiveKit refusing a request that lost its upgrade
        // on the way; any other answer is LiveKit refusing the participant (404 with Redis gone, measured).
        const status = /refused \(HTTP (\d{3})/.exec(errorText(e))?.[1];
        const hint = status && status !== '400' ? `LiveKit accepts the token but refuses the join (HTTP ${status}): it cannot place the participant (its Redis unreachable, or its nodes full)` : `the token is accepted but the WebSocket join is not: a load balancer or ingress in front of ${urls.ws} does not pass WebSocket upgrades`;
        return fail(errorText(e), await withCause(hint));
      }
    });
  } else skip('signalling', 'WebSocket join', 'the token check failed');
  if (!joined) {
    for (const g of ['sovereignty', 'stun', 'turn', 'ice', 'media']) skip(g, g, 'no JoinResponse: signalling failed');
    return done();
  }

  const offered = joined.iceServers.flatMap((s) => s.urls.map((url) => ({ url, ice: parseIceUrl(url), username: s.username, credential: s.credential })));
  await run('sovereignty', 'ICE servers handed to clients are ours only', async () => {
    const foreign = foreignIceUrls(offered.map((x) => x.url), allowedIceHosts(cluster));
    if (foreign.length) return fail(`foreign: ${foreign.join(', ')}`, 'LiveKit hands clients an ICE server outside the cluster and spec.sovereignty.stunServers: its config was changed by hand, or rtc.stun_servers fell back to a public default');
    if (!offered.length) return { status: 'warn', detail: 'no ICE server offered', hint: 'clients behind a firewall that blocks UDP cannot join without TURN: set spec.turn' };
    return pass(offered.map((x) => x.url).join(', '));
  });

  const udpTurn = offered.filter((x) => x.ice && x.ice.scheme === 'turn' && x.ice.transport === 'udp');
  const stunTargets = [...new Map([...udpTurn.map((x) => x.ice!), ...cluster.spec.sovereignty.stunServers.map((s) => parseIceUrl(`stun:${s}`)!)].map((i) => [`${i.host}:${i.port}`, i])).values()];
  for (const ice of stunTargets) {
    await run('stun', `STUN Binding ${ice.host}:${ice.port}/udp`, async () => {
      try {
        return pass(`answered: seen from ${(await stunBinding({ host: ice.host, port: ice.port, transport: 'udp', timeoutMs: o.timeoutMs })).mapped}`);
      } catch (e) {
        return fail(errorText(e), connectionHint(e, { host: ice.host, port: ice.port, transport: 'udp' }));
      }
    });
  }

  const relays: { ice: IceUrl; username: string; credential: string; privateCa?: boolean }[] = [];
  for (const x of offered.filter((y) => y.ice?.scheme.startsWith('turn'))) {
    const ice = x.ice!;
    const label = ice.transport === 'tls' ? 'TURN/TLS' : ice.transport === 'tcp' ? 'TURN/TCP' : 'TURN/UDP';
    const out = await run('turn', `${label} allocate ${x.url}`, async () => {
      try {
        const r = await turnAllocate({ host: ice.host, port: ice.port, transport: ice.transport, timeoutMs: o.timeoutMs, username: x.username, password: x.credential });
        if (!r.ok) return fail(`refused: ${r.errorCode ?? ''} ${r.reason ?? ''}`.trim(), turnRefusalHint(r.errorCode, r.reason));
        return pass(`relay ${r.relayed} allocated${r.tls ? ` over ${r.tls.protocol}, certificate for ${r.tls.subject ?? '?'}` : ''}`);
      } catch (e) {
        return fail(errorText(e), connectionHint(e, ice));
      }
    });
    if (out.status !== 'pass') continue;
    const privateCa = ice.transport === 'tls' && !(await publiclyTrusted(ice.host, ice.port, ice.host, o.timeoutMs).catch(() => true));
    relays.push({ ice, username: x.username, credential: x.credential, ...(privateCa ? { privateCa } : {}) });
  }

  await checkIce(run, cluster, urls.ws, await token(`${identity}-ice`, `${identity}-ice`), o.timeoutMs);

  if (!o.media) {
    skip('media', 'calls', 'not asked (--no-media)');
    return done();
  }
  let nodes: { pod: string; nodeId: string }[] = [];
  const listed = await run('media', 'SFU nodes', async () => {
    try {
      nodes = await sfuNodes(http, cluster);
      return nodes.length ? pass(nodes.map((n) => `${n.pod} (${n.nodeId})`).join(', ')) : fail('no running SFU pod', `kubectl get pods -n ${namespace} -l ${LABEL_INSTANCE}=${name},${LABEL_COMPONENT}=sfu`);
    } catch (e) {
      return { status: 'warn', detail: errorText(e), hint: 'cannot name the SFU nodes (pods/proxy refused?): one call goes wherever LiveKit places it' };
    }
  });
  if (listed.status === 'fail') return done();
  const { RoomServiceClient } = await import('livekit-server-sdk');
  const rooms = new RoomServiceClient(urls.http, pair.key, pair.secret);
  const targets = nodes.length ? nodes : [{ pod: 'any', nodeId: '' }];
  const paths: { label: string; relay?: (typeof relays)[number] }[] = [{ label: 'direct (ICE as offered)' }, ...relays.map((r) => ({ label: `relay only, ${r.ice.url}`, relay: r }))];
  for (const node of targets) {
    for (const path of paths) {
      const room = `${identity}-${node.nodeId.slice(-6) || 'any'}-${randomBytes(2).toString('hex')}`;
      await run('media', `audio+video via ${node.pod}, ${path.label}`, async () => {
        if (path.relay?.privateCa) {
          return { status: 'warn', detail: 'not attempted', hint: `the TURN/TLS certificate of ${path.relay.ice.host} is from a private CA (trusted here through NODE_EXTRA_CA_CERTS): the WebRTC stack of the calls (libwebrtc, its own roots, like browsers on devices without that CA) refuses it; devices must trust that CA, or use a certificate from a public CA` };
        }
        try {
          await rooms.createRoom({ name: room, emptyTimeout: 30, ...(node.nodeId ? { nodeId: node.nodeId } : {}) });
          const r = await runCall({ url: urls.ws, tokens: { publisher: await token(`${identity}-pub`, room), subscriber: await token(`${identity}-sub`, room) }, timeoutMs: o.timeoutMs * 3, ...(path.relay ? { relay: path.relay } : {}) });
          return pass(`room ${room}: ${r.audioFrames} audio frames (peak ${r.audioPeak}), ${r.videoFrames} video frames in ${(r.ms / 1000).toFixed(1)} s`);
        } catch (e) {
          const hint = path.relay
            ? `media does not flow through ${path.relay.ice.url} although it allocates: the relay port range (coturn min-port..max-port) is not open between the TURN server and the SFU nodes`
            : `direct media to the SFU failed: its UDP range (spec.sfu.rtc.udpPortRange ${cluster.spec.sfu.rtc.udpPortRange.start}-${cluster.spec.sfu.rtc.udpPortRange.end}) and ICE/TCP port ${cluster.spec.sfu.rtc.tcpPort} are not reachable from clients${relays.length ? ' (clients still get through TURN)' : ''}`;
          return fail(errorText(e), hint);
        } finally {
          await rooms.deleteRoom(room).catch(() => {});
        }
      });
    }
  }
  return done();
}
