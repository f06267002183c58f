// spec.subtitles rendered: the STT pool (moshi-server) and the subtitle agent. The start script that
// composes moshi-server's configuration is run for real, in a shell, against a stand-in moshi-server.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../api/validate.js';
import { auditRendered } from '../audit/audit.js';
import { TEST_SECRETS, baseManifest, type Manifest } from '../../test/specs.js';
import { byKind, find, podSpec } from '../../test/render-helpers.js';
import { renderCluster, type RenderOptions } from './index.js';

function render(mutate: (m: Manifest) => void, options: RenderOptions = {}) {
  const m = baseManifest();
  mutate(m);
  const { cluster, errors } = validateMeetingCluster(m);
  if (!cluster) throw new Error(JSON.stringify(errors));
  return { cluster, objects: renderCluster(cluster, TEST_SECRETS, options) };
}
const withSubtitles = (stt: object = {}, agent: object = {}) => (m: Manifest) => (m.spec.subtitles = { stt: { model: { pvc: { claimName: 'stt-models', subPath: 'kyutai-stt' } }, ...stt }, agent });

describe('spec.subtitles: the STT pool', () => {
  const operatorPeer = { namespace: 'meet-system', podLabels: { 'app.kubernetes.io/name': 'meet-operator' } };
  const { cluster, objects } = render(withSubtitles({ slotsPerPod: 16, minPods: 2 }), { operatorPeer });

  it('runs moshi-server from the model claim, with its generated API key in a Secret only', () => {
    const secret = find(objects, 'Secret', 'visio-stt-api-key');
    expect(Buffer.from(secret.data['api-key'], 'base64').toString()).toBe(TEST_SECRETS.sttApiKey);
    const config: string = find(objects, 'ConfigMap', 'visio-stt-config').data['moshi.toml'];
    expect(config).toContain('[modules.asr]\ntype = "BatchedAsr"\npath = "/api/asr-streaming"\nbatch_size = 16\n');
    expect(config).toContain('lm_model_file = "/models/model.safetensors"');
    expect(config).not.toContain('hf://');
    expect(config).not.toContain(TEST_SECRETS.sttApiKey);
    const deployment = find(objects, 'Deployment', 'visio-stt');
    expect(deployment.spec.replicas).toBe(2);
    const pod = podSpec(deployment);
    expect(pod.hostNetwork).toBe(false);
    expect(pod.volumes).toContainEqual({ name: 'model', persistentVolumeClaim: { claimName: 'stt-models', readOnly: true } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'model', mountPath: '/models', readOnly: true, subPath: 'kyutai-stt' });
    expect(pod.containers[0].command[2]).toMatch(/exec moshi-server worker --config \/run\/moshi\/config.toml --port 8080 --cpu$/);
    // The audit finds no credential in a ConfigMap.
    expect(auditRendered(cluster, objects, TEST_SECRETS).find((f) => f.check === 'secrets')?.verdict).toBe('pass');
  });

  it('is reachable only by this ministry\'s agents and the operator (which reads each pod\'s slots)', () => {
    expect(find(objects, 'Service', 'visio-stt').spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'http', port: 8080 }] });
    const policy = find(objects, 'NetworkPolicy', 'visio-stt-ingress').spec;
    expect(policy.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/instance': 'visio', 'app.kubernetes.io/component': 'stt' });
    expect(policy.ingress).toEqual([
      {
        from: [
          { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'visio', 'app.kubernetes.io/component': 'subtitle-agent' } } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'meet-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'meet-operator' } } },
        ],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    expect(find(objects, 'PodDisruptionBudget', 'visio-stt').spec.maxUnavailable).toBe(1);
  });

  it('asks for GPUs where the spec does, as an extended resource, on the nodes it names', () => {
    const { objects: gpu } = render(withSubtitles({ gpu: { count: 1 }, nodeSelector: { 'node.kubernetes.io/instance-type': 'gpu-l40s' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] }));
    const pod = podSpec(find(gpu, 'Deployment', 'visio-stt'));
    expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBe('1');
    expect(pod.containers[0].resources.requests['nvidia.com/gpu']).toBe('1');
    expect(pod.containers[0].command[2]).not.toContain('--cpu');
    expect(pod.nodeSelector).toEqual({ 'node.kubernetes.io/instance-type': 'gpu-l40s' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(podSpec(find(objects, 'Deployment', 'visio-stt')).containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
  });

  it('renders nothing of it without spec.subtitles, and not yet for a model in an object store', () => {
    const none = render(() => {}).objects;
    expect(none.filter((o) => /stt|subtitle/.test(o.metadata.name))).toEqual([]);
    const store = render((m) => (m.spec.subtitles = { stt: { model: { objectStore: { url: 'https://oos.eu-west-2.outscale.com/models/stt' } } } })).objects;
    expect(byKind(store, 'Deployment').map((o) => o.metadata.name)).toEqual(['visio-sfu', 'visio-turn']);
  });
});

describe('spec.subtitles: the agent', () => {
  const { objects } = render(withSubtitles({}, { drainSeconds: 3600, replicas: 3 }));
  const deployment = find(objects, 'Deployment', 'visio-subtitle-agent');
  const pod = podSpec(deployment);

  it('outlives its drain: the grace period covers drainSeconds, so a rollout does not cut subtitles', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(3600);
    expect(find(objects, 'PodDisruptionBudget', 'visio-subtitle-agent').spec.maxUnavailable).toBe(1);
  });

  it('reaches LiveKit and the STT pool inside the cluster, credentials from Secrets only', () => {
    const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      LIVEKIT_URL: 'ws://visio-signalling.justice.svc:443',
      STT_URL: 'ws://visio-stt.justice.svc:8080/api/asr-streaming',
      DRAIN_SECONDS: '3600',
      LIVEKIT_API_KEY: { secretKeyRef: { name: 'visio-livekit-keys', key: 'api-key' } },
      LIVEKIT_API_SECRET: { secretKeyRef: { name: 'visio-livekit-keys', key: 'api-secret' } },
      STT_API_KEY: { secretKeyRef: { name: 'visio-stt-api-key', key: 'api-key' } },
    });
  });
});

describe('the STT start script, run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stt-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the key first (a TOML root key), then the rendered part, then the model\'s own part, into a 0400 file in memory', () => {
    const { objects } = render(withSubtitles());
    const script: string = podSpec(find(objects, 'Deployment', 'visio-stt')).containers[0].command[2];
    // The pod's paths, moved under a temporary directory; moshi-server stood in for by a script that prints its configuration.
    const at = (p: string) => join(dir, p);
    for (const d of ['etc/moshi/key', 'run/moshi', 'models', 'bin']) mkdirSync(at(d), { recursive: true });
    writeFileSync(at('etc/moshi/moshi.toml'), find(objects, 'ConfigMap', 'visio-stt-config').data['moshi.toml']);
    writeFileSync(at('etc/moshi/key/api-key'), 'k3y"with\\quote');
    writeFileSync(at('models/moshi-asr.toml'), 'asr_delay_in_tokens = 6\n\n[modules.asr.model]\naudio_codebooks = 8\n');
    writeFileSync(at('bin/moshi-server'), '#!/bin/sh\nwhile [ "$1" != --config ]; do shift; done\nstat -c %a "$2"\ncat "$2"\n');
    chmodSync(at('bin/moshi-server'), 0o755);
    const local = script.replaceAll('/etc/moshi', at('etc/moshi')).replaceAll('/run/moshi', at('run/moshi')).replaceAll('/models', at('models'));
    const out = execFileSync('sh', ['-c', local], { encoding: 'utf8', env: { PATH: `${at('bin')}:/usr/bin:/bin` } });
    const [mode, ...config] = out.split('\n');
    expect(mode).toBe('400');
    const text = config.join('\n');
    expect(text.startsWith('authorized_ids = ["k3y\\"with\\\\quote"]\nstatic_dir = ')).toBe(true);
    expect(text.indexOf('[modules.asr]')).toBeLessThan(text.indexOf('asr_delay_in_tokens = 6'));
    expect(text.trimEnd().endsWith('[modules.asr.model]\naudio_codebooks = 8')).toBe(true);
    expect(statSync(at('run/moshi/static')).isDirectory()).toBe(true);
  });
});
