// Issue 19 item 1 on the real node: `meet-operator check` (the built CLI, run as a separate user on
// the host network, like a platform engineer's machine) against the real stack, then under faults
// injected one at a time, each of which must fail the right checks with the right hint, and nothing else.
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, kubectlOk } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { mediaBinaries } from '../media/binaries.js';
import { allPodsOf, imageRef, podsOf, podReady, realNode } from './cluster.js';
import { LiveStack } from './live-stack.js';

const NS = 'sports-check';
/** The check runs as this user: the UDP fault drops only its packets. */
const CHECKER = { uid: 4242, gid: 4242, groups: [4242] };

interface Check {
  group: string;
  name: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  detail: string;
  hint?: string;
}

describe('meet-operator check on the real node', () => {
  const stack = new LiveStack(NS, 'node-check', ['visio.sports.example']);
  let kubeconfig = '';
  let ca = '';
  let node = '';
  let home = '';

  const check = async (...extra: string[]): Promise<{ code: number; checks: Check[]; raw: string; clusters: number }> => {
    const target = extra.includes('--all') ? [] : ['visio'];
    const r = await stack.sb.run({
      name: 'meet-operator-check',
      argv: [node, join(process.cwd(), 'dist/cli/bin.js'), 'check', ...target, '-n', NS, '--url', 'ws://visio.sports.example:7880', '--kubeconfig', kubeconfig, ...extra],
      env: { PATH: '/usr/bin:/bin', HOME: home, NODE_EXTRA_CA_CERTS: ca, SSL_CERT_FILE: ca },
      user: CHECKER,
      timeoutMs: 240_000,
    });
    const json = extra.includes('json') ? JSON.parse(r.stdout) : undefined;
    return { code: r.code ?? -1, checks: json ? json.clusters[0].checks : [], raw: r.stdout + r.stderr, clusters: json?.clusters.length ?? 0 };
  };
  /** The check (JSON) while the checker's packets that `match` are dropped on the way out. */
  const checkDropping = async (match: string[]) => {
    const rule = ['OUTPUT', '-m', 'owner', '--uid-owner', String(CHECKER.uid), ...match, '-j', 'DROP'];
    execFileSync('iptables', ['-I', ...rule]);
    try {
      return await check('-o', 'json');
    } finally {
      execFileSync('iptables', ['-D', ...rule]);
    }
  };
  const failed = (checks: Check[]) => checks.filter((c) => c.status === 'fail');
  const summary = (checks: Check[]) => checks.map((c) => `${c.status.padEnd(4)} ${c.group}/${c.name}: ${c.detail}${c.hint && c.status !== 'pass' ? `\n       hint: ${c.hint}` : ''}`).join('\n');

  // The TCP load balancer of the generic profile (public TURN/TLS on 443, coturn on 5349), modelled by
  // a DNAT of this host's own traffic: the lab has no load balancer, and the check reaches 443 as clients do.
  // OUTPUT: this host's own traffic (the check run here); PREROUTING: the pods' (the CronJob's).
  const lb = (chain: string) => [chain, '-p', 'tcp', '-d', realNode().ip, '--dport', '443', '-j', 'DNAT', '--to-destination', `${realNode().ip}:5349`];

  beforeAll(async () => {
    await stack.start();
    for (const chain of ['OUTPUT', 'PREROUTING']) execFileSync('iptables', ['-t', 'nat', '-I', ...lb(chain)]);
    // What the checker may read: a copy of the kubeconfig and the CA of the TURN/TLS certificate.
    kubeconfig = join(stack.sb.dir, 'checker.kubeconfig');
    copyFileSync(inject('kubeconfig'), kubeconfig);
    chmodSync(kubeconfig, 0o644);
    // The cached Node lives under root's home, which the checker cannot traverse.
    node = join(stack.sb.dir, 'node');
    copyFileSync(mediaBinaries().node, node);
    chmodSync(node, 0o755);
    home = join(stack.sb.dir, 'checker-home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, CHECKER.uid, CHECKER.gid);
    ca = join(stack.sb.dir, 'turn-ca.pem');
    writeFileSync(ca, stack.turnCert, { mode: 0o644 });
  }, 300_000);
  afterAll(async () => {
    for (const chain of ['OUTPUT', 'PREROUTING']) spawnSync('iptables', ['-t', 'nat', '-D', ...lb(chain)]);
    await stack.stop();
  }, 320_000);

  it('the healthy stack passes every check, calls included (text output, exit 0)', async () => {
    const text = await check();
    console.log(`meet-operator check, healthy stack:\n${text.raw}`);
    expect(text.code, text.raw).toBe(0);
    const { checks, code } = await check('-o', 'json');
    expect(code).toBe(0);
    expect(failed(checks), summary(checks)).toEqual([]);
    const groups = new Set(checks.filter((c) => c.status === 'pass').map((c) => c.group));
    expect([...groups].sort()).toEqual(['cluster', 'dns', 'ice', 'media', 'signalling', 'sovereignty', 'stun', 'turn']);
    // ICE straight to the SFU, each transport on its own: a connectivity check answered over UDP and over TCP.
    expect(checks.filter((c) => c.group === 'ice').map((c) => `${c.name.split(' ')[0]} ${c.status}`)).toEqual(['ICE/UDP pass', 'ICE/TCP pass']);
    // TURN over UDP and TLS each allocate, and a call goes through each, relay only, plus one direct.
    expect(checks.filter((c) => c.group === 'turn' && c.status === 'pass').map((c) => c.name.split(' ')[0]).sort()).toEqual(['TURN/TLS', 'TURN/UDP']);
    const calls = checks.filter((c) => c.group === 'media' && c.name.startsWith('audio+video'));
    expect(calls.map((c) => c.name.replace(/via \S+, /, ''))).toEqual(['audio+video direct (ICE as offered)', expect.stringMatching(/relay only, turns:/), expect.stringMatching(/relay only, turn:/)]);
    for (const c of calls.filter((x) => !x.name.includes('turns:'))) expect(c.detail, summary(checks)).toMatch(/peak [1-9]\d{3,}/);
    // The lab's TURN/TLS certificate is self-signed: libwebrtc (its own roots) refuses it, and the
    // check says so as a warning rather than blaming the relay ports.
    const tlsCall = calls.find((x) => x.name.includes('turns:'))!;
    if (tlsCall.status !== 'pass') expect(tlsCall, summary(checks)).toMatchObject({ status: 'warn', hint: expect.stringMatching(/private CA/) });
    // --all finds the namespace's clusters; --no-media stops before the calls.
    const all = await check('--all', '--no-media', '-o', 'json');
    expect([all.code, all.clusters]).toEqual([0, 1]);
    expect(all.checks.filter((c) => c.group === 'media')).toEqual([expect.objectContaining({ status: 'skip', detail: 'not asked (--no-media)' })]);
  }, 300_000);

  it('UDP blocked on the way: STUN and TURN/UDP fail with the UDP hint; TURN/TLS and the calls still pass', async () => {
    const r = await checkDropping(['-p', 'udp']);
    console.log(`meet-operator check, UDP blocked:\n${summary(r.checks)}`);
    expect(r.code).toBe(1);
    const bad = failed(r.checks);
    expect(bad.map((c) => `${c.group}/${c.name.split(' ')[0]}`).sort(), summary(r.checks)).toEqual(['ice/ICE/UDP', 'stun/STUN', 'turn/TURN/UDP']);
    for (const c of bad) expect(c.hint).toMatch(/no answer over UDP .*UDP is blocked on the way/);
    expect(bad.find((c) => c.group === 'ice')!.hint).toMatch(/spec\.sfu\.rtc\.udpPortRange/);
  }, 300_000);

  it('ICE/TCP blocked on the way: only the ICE/TCP check fails, naming the SFU\'s ICE/TCP port', async () => {
    const tcpPort = stack.m.spec.sfu.rtc?.tcpPort ?? 7881;
    const r = await checkDropping(['-p', 'tcp', '--dport', String(tcpPort)]);
    console.log(`meet-operator check, ICE/TCP blocked:\n${summary(r.checks)}`);
    expect(r.code).toBe(1);
    const bad = failed(r.checks);
    expect(bad.map((c) => `${c.group}/${c.name.split(' ')[0]}`), summary(r.checks)).toEqual(['ice/ICE/TCP']);
    expect(bad[0]!.hint).toMatch(new RegExp(`no answer from \\S+:${tcpPort}/tcp: a firewall .*spec\\.sfu\\.rtc\\.tcpPort ${tcpPort}`));
  }, 300_000);

  it('a TURN secret edited by hand and only coturn restarted: both TURN allocations refused with the shared-secret hint', async () => {
    const original = getJson('secret', 'visio-turn-secret', '-n', NS).data.secret;
    const restartCoturn = async () => {
      const before = podsOf(NS, 'visio', 'turn').map((p) => p.metadata.uid);
      kubectlOk(['delete', 'pod', '-n', NS, '-l', 'app.kubernetes.io/instance=visio,app.kubernetes.io/component=turn', '--wait=false']);
      // The old one gone too: coturn 4.6.1 ignores SIGTERM and serves until its grace period ends.
      await eventually('only a new coturn, ready', () => {
        const pods = allPodsOf(NS, 'visio', 'turn');
        return pods.length > 0 && pods.every((p) => podReady(p) && !before.includes(p.metadata.uid)) ? true : undefined;
      }, 180_000, 1000);
    };
    kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused=true']);
    try {
      kubectlOk(['patch', 'secret', 'visio-turn-secret', '-n', NS, '--type=merge', '-p', JSON.stringify({ data: { secret: Buffer.from('edited-by-hand-0123456789abcdef0123456789').toString('base64') } })]);
      await restartCoturn();
      const r = await check('-o', 'json');
      console.log(`meet-operator check, TURN secret edited and only coturn restarted:\n${summary(r.checks)}`);
      expect(r.code).toBe(1);
      const bad = failed(r.checks);
      expect(bad.map((c) => `${c.group}/${c.name.split(' ')[0]}`).sort(), summary(r.checks)).toEqual(['turn/TURN/TLS', 'turn/TURN/UDP']);
      for (const c of bad) expect(c.hint).toMatch(/shared secret differs from LiveKit's/);
    } finally {
      kubectlOk(['patch', 'secret', 'visio-turn-secret', '-n', NS, '--type=merge', '-p', JSON.stringify({ data: { secret: original } })]);
      await restartCoturn();
      kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused-']);
    }
  }, 400_000);

  it('TURN stopped: STUN and both TURN transports fail naming a server that is down; the direct call passes', async () => {
    kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused=true']);
    try {
      kubectlOk(['scale', 'deployment', 'visio-turn', '-n', NS, '--replicas=0']);
      await eventually('coturn gone (it ignores SIGTERM: after its grace period)', () => (allPodsOf(NS, 'visio', 'turn').length === 0 ? true : undefined), 180_000, 1000);
      const r = await check('-o', 'json');
      console.log(`meet-operator check, TURN stopped:\n${summary(r.checks)}`);
      expect(r.code).toBe(1);
      const bad = failed(r.checks);
      expect(bad.map((c) => `${c.group}/${c.name.split(' ')[0]}`).sort(), summary(r.checks)).toEqual(['stun/STUN', 'turn/TURN/TLS', 'turn/TURN/UDP']);
      for (const c of bad) expect(c.hint).toMatch(/nothing accepts connections on .*the server is down/);
      expect(r.checks.find((c) => c.name.includes('direct'))?.status).toBe('pass');
    } finally {
      kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused-']);
      await eventually('coturn back', () => (podsOf(NS, 'visio', 'turn').some(podReady) ? true : undefined), 120_000, 1000);
    }
  }, 300_000);

  /** Pauses the operator for this cluster, scales one workload to 0 until its pods are gone, runs fn, then gives it back. */
  const withStopped = async (kind: string, workload: string, component: string, fn: () => Promise<void>) => {
    kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused=true']);
    try {
      kubectlOk(['scale', kind, workload, '-n', NS, '--replicas=0']);
      await eventually(`${component} pods gone`, () => (allPodsOf(NS, 'visio', component).length === 0 ? true : undefined), 240_000, 1000);
      await fn();
    } finally {
      kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused-']);
      await eventually(`${component} back`, () => (podsOf(NS, 'visio', component).some(podReady) ? true : undefined), 180_000, 1000);
    }
  };

  it('Redis stopped: signalling fails, and its hint names Redis with its pods', async () => {
    await withStopped('statefulset', 'visio-redis', 'redis', async () => {
      const r = await check('-o', 'json');
      console.log(`meet-operator check, Redis stopped:\n${summary(r.checks)}`);
      expect(r.code).toBe(1);
      const bad = failed(r.checks);
      expect(bad.map((c) => c.group), summary(r.checks)).toEqual(['signalling']);
      expect(bad[0]!.hint).toMatch(/^Redis: 0 of 0 pods ready;? .*LiveKit accepts the token but refuses the join \(HTTP 404\): it cannot place the participant/);
      expect(r.checks.filter((c) => ['stun', 'turn', 'media'].includes(c.group)).every((c) => c.status === 'skip')).toBe(true);
    });
  }, 420_000);

  it('the SFU down: signalling refused, and its hint names the SFU with its pods', async () => {
    await withStopped('deployment', 'visio-sfu', 'sfu', async () => {
      const r = await check('-o', 'json');
      console.log(`meet-operator check, SFU down:\n${summary(r.checks)}`);
      expect(r.code).toBe(1);
      const bad = failed(r.checks);
      expect(bad.map((c) => c.name), summary(r.checks)).toEqual([expect.stringMatching(/^token accepted by/)]);
      expect(bad[0]!.hint).toMatch(/^SFU: 0 of 0 pods ready.*nothing accepts connections on visio\.sports\.example:7880/);
    });
  }, 420_000);

  it('on a schedule in the cluster: spec.checks makes the operator keep a CronJob running check --report in its own image, and ConnectivityVerified follows', async () => {
    // The printed CronJob (for clusters whose platform team applies it by hand) is accepted by the API server as is.
    const printed = await stack.sb.run({
      name: 'meet-operator-print-cronjob',
      argv: [node, join(process.cwd(), 'dist/cli/bin.js'), 'check', 'visio', '-n', NS, '--print-cronjob', '--image', imageRef('meet-operator'), '--ca-configmap', 'turn-ca', '--url', 'ws://visio.sports.example:7880', '--kubeconfig', kubeconfig],
      env: { PATH: '/usr/bin:/bin', HOME: home },
      user: CHECKER,
      timeoutMs: 30_000,
    });
    expect(printed.code, printed.stderr).toBe(0);
    kubectlOk(['apply', '--dry-run=server', '-f', '-'], printed.stdout);
    kubectlOk(['create', 'configmap', 'turn-ca', '-n', NS, `--from-file=ca.crt=${ca}`]);
    // Once a year: the Job below is the one that runs.
    kubectlOk(['patch', 'mc', 'visio', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { checks: { schedule: '0 3 1 1 *', caConfigMap: 'turn-ca', url: 'ws://visio.sports.example:7880' } } })]);
    const pending = await eventually('ConnectivityVerified pending', () => getJson('mc', 'visio', '-n', NS).status?.conditions?.find((c: any) => c.type === 'ConnectivityVerified' && c.reason === 'CheckPending'), 60_000, 1000);
    expect(pending.status).toBe('Unknown');
    const cronJob = getJson('cronjob', 'visio-connectivity-check', '-n', NS);
    expect(cronJob.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'MeetingCluster', name: 'visio' })]);
    expect(cronJob.spec.jobTemplate.spec.template.spec.containers[0].image).toBe(imageRef('meet-operator'));
    kubectlOk(['create', 'job', 'check-now', '-n', NS, '--from=cronjob/visio-connectivity-check']);
    const job = await eventually('the check Job finished', () => {
      const j = getJson('job', 'check-now', '-n', NS);
      return j.status?.succeeded || j.status?.failed ? j : undefined;
    }, 240_000, 2000);
    const log = kubectlOk(['logs', '-n', NS, 'job/check-now']);
    expect(job.status.succeeded, log.slice(-3000)).toBe(1);
    const verified = await eventually('ConnectivityVerified from the report', () => getJson('mc', 'visio', '-n', NS).status?.conditions?.find((c: any) => c.type === 'ConnectivityVerified' && c.reason !== 'CheckPending'), 60_000, 1000);
    console.log(`ConnectivityVerified from the CronJob: ${JSON.stringify(verified)}`);
    expect(verified).toMatchObject({ status: 'True', reason: 'ChecksPassed' });
    // kubectl logs merges stderr (the SDK's warnings) in: the report is the pretty-printed object.
    const report = JSON.parse(log.slice(log.indexOf('{\n  "clusters"'), log.lastIndexOf('}') + 1));
    expect(report.clusters[0].checks.filter((c: Check) => c.status === 'fail')).toEqual([]);
  }, 400_000);
});
