// Injection into the rendered config files: livekit.yaml (YAML, read by go-yaml in LiveKit),
// turnserver.conf (coturn's key=value lines), redis.conf, and the `sh -c` start scripts of coturn and Redis.
// Each hostile value either stops at validation (with its field named), or renders to files that
// parse to exactly the keys of a benign render, with the value intact. Behind validation, the
// renderers refuse on their own what could break a file: a bug upstream must not become a directive.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateMeetingCluster } from '../../api/validate.js';
import type { MeetingCluster } from '../../api/types.js';
import { profileFor } from '../../cloud/profiles.js';
import { HOSTILE_STRINGS, hostileVariants, setPath } from '../../../test/hostile.js';
import { TEST_SECRETS, baseManifest, type Manifest } from '../../../test/specs.js';
import { leafPaths } from '../../../test/render-helpers.js';
import { renderContext } from '../context.js';
import { renderCluster, type RenderedObject } from '../index.js';
import { coturnStartScript } from '../turn.js';
import { redisStartScript } from '../redis.js';
import { HOST_IP_ENV } from '../start-script.js';
import { renderLivekitYaml } from './livekit.js';
import { renderRedisConf } from './redis.js';
import { renderTurnserverConf } from './turnserver.js';

/** A field whose value reaches a config file, and the manifest in which it does. */
interface ConfigField {
  path: string;
  legit: string;
  manifest: () => Manifest;
}

const withSpec = (f: (m: Manifest) => void) => () => {
  const m = baseManifest();
  f(m);
  return m;
};
const coturn = withSpec(() => {});
const stun = () => ({ stunServers: ['stun.justice.example:3478'] });

const FIELDS: ConfigField[] = [
  // livekit.yaml rtc.turn_servers[].host and rtc.stun_servers; turnserver.conf realm and server-name.
  { path: 'spec.turn.domain', legit: 'turn.justice.example', manifest: coturn },
  { path: 'spec.turn.udpDomain', legit: 'turn-udp.justice.example', manifest: coturn },
  { path: 'spec.domain', legit: 'visio.justice.example', manifest: coturn },
  // livekit.yaml turn.domain (embedded TURN).
  { path: 'spec.turn.domain', legit: 'turn.justice.example', manifest: withSpec((m) => ((m.spec.turn.mode = 'embedded'), (m.spec.sovereignty = stun()))) },
  { path: 'spec.turn.external.host', legit: 'turn.partner.example', manifest: withSpec((m) => ((m.spec.turn = { mode: 'external', external: { host: 'turn.partner.example', secretRef: { name: 'turn-ext', key: 'secret' } } }), (m.spec.sovereignty = stun()))) },
  { path: 'spec.redis.external.address', legit: 'redis.partner.example:6379', manifest: withSpec((m) => (m.spec.redis = { mode: 'external', external: { address: 'redis.partner.example:6379' } })) },
  { path: 'spec.sovereignty.stunServers[0]', legit: 'stun.justice.example:3478', manifest: withSpec((m) => (m.spec.sovereignty = stun())) },
  { path: 'spec.sfu.logLevel', legit: 'info', manifest: coturn },
  // The header comment of every file, and livekit.yaml redis.address (<name>-redis.<namespace>.svc...).
  { path: 'metadata.name', legit: 'visio', manifest: coturn },
  { path: 'metadata.namespace', legit: 'justice', manifest: coturn },
];

const configMap = (objects: RenderedObject[], key: string): string => {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && (o.data as any)?.[key] !== undefined);
  if (!cm) throw new Error(`no ConfigMap carries ${key}`);
  return (cm.data as any)[key];
};

/** livekit.yaml as go-yaml would read it: one document, no error; its leaf paths. */
function yamlLeaves(text: string): { paths: string[]; doc: any } {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1 || docs[0]!.errors.length) throw new Error(`livekit.yaml is not one clean document:\n${text}`);
  const doc = docs[0]!.toJS();
  return { paths: leafPaths(doc).sort(), doc };
}

/** Directive names of a key=value (coturn) or "key value" (redis) file, in order. */
const directives = (text: string, sep: RegExp) => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(sep)[0]);

/** Only printable ASCII and \n: no parser (YAML 1.1, go-yaml, coturn, redis) finds a line break we did not write. */
const PLAIN_TEXT = /^[\x20-\x7e\n]*$/;

function configs(objects: RenderedObject[]) {
  const turn = objects.some((o) => (o.data as any)?.['turnserver.conf']) ? configMap(objects, 'turnserver.conf') : undefined;
  const redis = objects.some((o) => (o.data as any)?.['redis.conf']) ? configMap(objects, 'redis.conf') : undefined;
  return { livekit: configMap(objects, 'livekit.yaml'), turn, redis };
}

function render(m: Manifest): { cluster?: MeetingCluster; errors: { path: string }[]; files?: ReturnType<typeof configs> } {
  const { cluster, errors } = validateMeetingCluster(m);
  return cluster ? { cluster, errors, files: configs(renderCluster(cluster, TEST_SECRETS)) } : { errors };
}

describe.each(FIELDS.map((f) => [`${f.path} (${f.manifest().spec.turn.mode} TURN)`, f] as const))('hostile %s', (_n, f) => {
  const baseline = render(f.manifest()).files!;
  it.each(hostileVariants(f.legit))('%s: refused naming the field, or no key added to any file', (_what, value) => {
    const m = f.manifest();
    setPath(m, f.path, value);
    const r = render(m);
    if (!r.cluster) {
      const field = f.path.replace(/\[\d+\]$/, '');
      expect(r.errors.map((e) => e.path).some((p) => p.startsWith(field))).toBe(true);
      return;
    }
    const files = r.files!;
    for (const text of [files.livekit, files.turn, files.redis]) if (text !== undefined) expect(text).toMatch(PLAIN_TEXT);
    expect(yamlLeaves(files.livekit).paths).toEqual(yamlLeaves(baseline.livekit).paths);
    if (baseline.turn) expect(directives(files.turn!, /=/)).toEqual(directives(baseline.turn, /=/));
    if (baseline.redis) expect(directives(files.redis!, / /)).toEqual(directives(baseline.redis, / /));
  });
});

describe('behind validation: the config renderers refuse or neutralise what validation would have stopped', () => {
  const valid = (m: Manifest = baseManifest()): MeetingCluster => validateMeetingCluster(m).cluster!;
  const embedded = () => valid(withSpec((m) => ((m.spec.turn.mode = 'embedded'), (m.spec.sovereignty = stun())))());
  const sneak = (cluster: MeetingCluster, path: string, value: string): MeetingCluster => {
    const c = structuredClone(cluster);
    setPath(c as unknown as Manifest, path, value);
    return c;
  };
  const base = valid();
  const lk = yamlLeaves(renderLivekitYaml(renderContext(base, TEST_SECRETS)));
  const turnBase = directives(renderTurnserverConf(renderContext(base, TEST_SECRETS)), /=/);
  const redisBase = directives(renderRedisConf(renderContext(base, TEST_SECRETS)), / /);

  it.each(Object.entries(HOSTILE_STRINGS))('livekit.yaml values: %s', (_what, h) => {
    for (const [cluster, path, leaf] of [
      [base, 'spec.turn.domain', (d: any) => d.rtc.turn_servers[0].host],
      [base, 'spec.sovereignty.stunServers[0]', (d: any) => d.rtc.stun_servers[0]],
      [embedded(), 'spec.turn.domain', (d: any) => d.turn.domain],
    ] as const) {
      const ctx = renderContext(sneak(cluster, path, h), TEST_SECRETS);
      let text: string;
      try {
        text = renderLivekitYaml(ctx);
      } catch (e) {
        expect((e as Error).message).toMatch(/^livekit\.yaml: refusing /);
        expect(/^[\x20-\x7e]*$/.test(h)).toBe(false); // only what is not printable ASCII is refused
        continue;
      }
      expect(text).toMatch(PLAIN_TEXT);
      const parsed = yamlLeaves(text);
      const benign = yamlLeaves(renderLivekitYaml(renderContext(cluster, TEST_SECRETS))).paths;
      if (h === '' && !path.includes('stunServers')) {
        // An empty TURN domain renders no TURN server at all: keys go, none comes.
        expect(parsed.paths.filter((p) => !benign.includes(p))).toEqual([]);
        continue;
      }
      expect(leaf(parsed.doc)).toBe(h);
      expect(parsed.paths).toEqual(benign);
    }
  });

  it.each(Object.entries(HOSTILE_STRINGS))('turnserver.conf realm: %s', (_what, h) => {
    const ctx = renderContext(sneak(base, 'spec.turn.domain', h), TEST_SECRETS);
    // Nothing but DNS-name characters may reach coturn's file: every hostile string here is refused.
    expect(() => renderTurnserverConf(ctx)).toThrow(/^turnserver\.conf: refusing realm=/);
  });

  it.each(Object.entries(HOSTILE_STRINGS))('header comments with a hostile name and namespace: %s', (_what, h) => {
    const c = sneak(sneak(base, 'metadata.name', `visio${h}`), 'metadata.namespace', `justice${h}`);
    const ctx = renderContext(c, TEST_SECRETS);
    // The namespace also reaches livekit.yaml as a value (redis.address): refused unless printable.
    if (!/^[\x20-\x7e]*$/.test(h)) expect(() => renderLivekitYaml(ctx)).toThrow(/^livekit\.yaml: refusing redis\.address=/);
    else {
      const text = renderLivekitYaml(ctx);
      expect(text).toMatch(PLAIN_TEXT);
      expect(yamlLeaves(text).paths).toEqual(lk.paths);
    }
    const turn = renderTurnserverConf(ctx);
    expect(turn).toMatch(PLAIN_TEXT);
    expect(directives(turn, /=/)).toEqual(turnBase);
    const redis = renderRedisConf(ctx);
    expect(redis).toMatch(PLAIN_TEXT);
    expect(directives(redis, / /)).toEqual(redisBase);
  });

  it('renders valid specs byte for byte as before: plain names are not quoted', () => {
    expect(renderRedisConf(renderContext(base, TEST_SECRETS)).split('\n')[0]).toBe('# redis-server configuration rendered by meet-operator for justice/visio.');
  });
});

/**
 * The start scripts of coturn and Redis: the node's IP from the env (and on Outscale the public IP
 * from the metadata service), the secret from its mounted Secret file (the user's own Secret, maybe).
 * Run with the system sh, the script's absolute paths moved into a temp dir, and stand-ins for
 * turnserver, redis-server and wget: the stand-in records its arguments, its environment and the
 * configuration file it was given.
 */
describe('coturn and Redis start scripts with hostile values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meet-start-script-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const canary = join(dir, 'canary');
  const bin = join(dir, 'bin');
  const root = join(dir, 'root');
  mkdirSync(bin, { recursive: true });
  // Records argv (NUL-separated), the environment, and the file named by -c (turnserver) or $1 (redis-server).
  const standIn = '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done > "$OUT.args"\nenv > "$OUT.env"\numask > "$OUT.umask"\nif [ "$1" = -c ]; then cat "$2"; else cat "$1"; fi > "$OUT.conf"\n';
  for (const b of ['turnserver', 'redis-server']) writeFileSync(join(bin, b), standIn, { mode: 0o755 });
  writeFileSync(join(bin, 'wget'), '#!/bin/sh\nprintf \'%s\\n\' "$FAKE_METADATA_ANSWER"\n', { mode: 0o755 });

  const values = [
    ...Object.values(HOSTILE_STRINGS).filter((h) => !h.includes('\u0000')), // env values and lines cannot hold NUL
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `"; touch ${canary}; echo "`,
    `'; touch ${canary}; echo '`,
    `x\ntouch ${canary}`,
    'x\\" requirepass "y',
    '--log-file=/tmp/x',
  ];

  interface Run {
    status: number | null;
    stderr: string;
    args?: string[];
    env?: string;
    conf?: string;
  }
  /** Runs a start script with its paths under root/, the secret file holding `secret`. */
  function run(script: string, secretFile: string, secret: string, env: Record<string, string>): Run {
    rmSync(root, { recursive: true, force: true });
    const moved = script.replace(/(\/etc\/|\/var\/)/g, `${root}$1`);
    for (const d of ['etc/coturn/secret', 'var/tmp/coturn', 'etc/redis/auth', 'var/run/redis']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'etc/coturn/turnserver.conf'), 'listening-port=3478\n');
    writeFileSync(join(root, 'etc/redis/redis.conf'), 'port 6379\n');
    writeFileSync(join(root, secretFile), secret);
    const out = join(dir, 'out');
    for (const f of ['args', 'env', 'conf']) rmSync(`${out}.${f}`, { force: true });
    const r = spawnSync('/bin/sh', ['-c', moved], { env: { PATH: `${bin}:/usr/bin:/bin`, OUT: out, ...env }, encoding: 'utf8' });
    const read = (f: string) => (existsSync(`${out}.${f}`) ? readFileSync(`${out}.${f}`, 'utf8') : undefined);
    return { status: r.status, stderr: r.stderr, args: read('args')?.split('\0').slice(0, -1), env: read('env'), conf: read('conf') };
  }
  const firstLine = (v: string) => v.split('\n')[0]!;
  const printable = (v: string) => !/[^\x20-\x7e]/.test(v);
  const coturnScript = (kind: 'metadata' | 'hostIP') => {
    const source = kind === 'metadata' ? profileFor('outscale')!.externalIP : profileFor('generic')!.externalIP;
    expect(source.kind).toBe(kind);
    return coturnStartScript(source);
  };

  it.each(values.map((v) => [JSON.stringify(v).slice(0, 60), v] as const))('TURN secret %s: one static-auth-secret line or a refusal, never an argument', (_n, v) => {
    const r = run(coturnScript('hostIP'), 'etc/coturn/secret/secret', v, { [HOST_IP_ENV]: '10.0.0.5' });
    const line = firstLine(v);
    if (line === '' || !printable(line)) {
      expect(r.status).not.toBe(0);
      expect(r.args).toBeUndefined(); // turnserver never started
    } else {
      expect(r.status, r.stderr).toBe(0);
      expect(r.args).toEqual(['-c', `${root}/var/tmp/coturn/turnserver.conf`]);
      expect(r.conf).toBe(`listening-port=3478\nexternal-ip=10.0.0.5\nstatic-auth-secret=${line}\n`);
      expect(r.env).not.toContain(line.length > 3 ? line : '\u0000');
      // Only coturn may read it: 0400.
      expect(statSync(`${root}/var/tmp/coturn/turnserver.conf`).mode & 0o777).toBe(0o400);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it.each(values.map((v) => [JSON.stringify(v).slice(0, 60), v] as const))('Redis password %s: one quoted requirepass line or a refusal', (_n, v) => {
    const r = run(redisStartScript(), 'etc/redis/auth/password', v, {});
    const line = firstLine(v);
    if (line === '' || !printable(line)) {
      expect(r.status).not.toBe(0);
      expect(r.args).toBeUndefined();
    } else {
      expect(r.status, r.stderr).toBe(0);
      expect(r.args).toEqual([`${root}/var/run/redis/redis.conf`]);
      expect(r.conf).toBe(`port 6379\nrequirepass "${line.replace(/[\\"]/g, (c) => `\\${c}`)}"\n`);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it.each(values.map((v) => [JSON.stringify(v).slice(0, 60), v] as const))('node IP or metadata answer %s: one external-ip line or a refusal before anything starts', (_n, v) => {
    // Only characters of an IPv4/IPv6 address pass; such a value cannot add a directive.
    const address = /^[0-9A-Fa-f.:]+$/.test(v);
    const byNode = run(coturnScript('hostIP'), 'etc/coturn/secret/secret', 's3cret', { [HOST_IP_ENV]: v });
    const byMetadata = run(coturnScript('metadata'), 'etc/coturn/secret/secret', 's3cret', { [HOST_IP_ENV]: '10.0.0.5', FAKE_METADATA_ANSWER: v });
    if (address) {
      expect(byNode.conf).toBe(`listening-port=3478\nexternal-ip=${v}\nstatic-auth-secret=s3cret\n`);
      expect(byMetadata.conf).toBe(`listening-port=3478\nexternal-ip=${v}/10.0.0.5\nstatic-auth-secret=s3cret\n`);
    } else {
      expect(byNode.args).toBeUndefined();
      expect(byMetadata.args).toBeUndefined();
    }
    expect(existsSync(canary)).toBe(false);
  });

  it('control: the stand-ins record what the scripts run, and the canary can be created', () => {
    const r = run(coturnScript('metadata'), 'etc/coturn/secret/secret', 's3cret\n', { [HOST_IP_ENV]: '10.0.0.5', FAKE_METADATA_ANSWER: '198.51.100.7' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.conf).toBe('listening-port=3478\nexternal-ip=198.51.100.7/10.0.0.5\nstatic-auth-secret=s3cret\n');
    expect(r.env).not.toContain('s3cret');
    // The server keeps the pod's umask: only the composed file is created 0400.
    expect(readFileSync(join(dir, 'out.umask'), 'utf8').trim()).toBe(spawnSync('/bin/sh', ['-c', 'umask'], { encoding: 'utf8' }).stdout.trim());
    const ipv6 = run(coturnScript('hostIP'), 'etc/coturn/secret/secret', 's', { [HOST_IP_ENV]: '2001:db8::5' });
    expect(ipv6.conf).toContain('external-ip=2001:db8::5\n');
    spawnSync('/bin/sh', ['-c', `touch ${canary}`]);
    expect(existsSync(canary)).toBe(true);
    rmSync(canary);
  });
});
