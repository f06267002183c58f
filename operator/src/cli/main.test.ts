import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { INVALID, invalidManifest } from '../../test/specs.js';
import { CRD_FILE, crdYaml, main, operatorPeer } from './main.js';

let stdout = '';
let stderr = '';
beforeEach(() => {
  stdout = stderr = '';
  process.exitCode = undefined;
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const run = (...args: string[]) => main(['node', 'meet-operator', ...args]);
const dir = mkdtempSync(join(tmpdir(), 'meet-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('meet-operator render', () => {
  it('prints the whole stack as multi-document YAML with fresh credentials', async () => {
    expect(await run('render', '-f', 'examples/interieur-outscale-cloudgouv.yaml')).toBe(0);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(['Secret', 'ConfigMap', 'Service', 'Deployment', 'StatefulSet', 'PodDisruptionBudget', 'NetworkPolicy']));
    const first = stdout;
    stdout = '';
    await run('render', '-f', 'examples/interieur-outscale-cloudgouv.yaml');
    const keys = (text: string) => parseAllDocuments(text).map((d) => d.toJS()).find((d) => d.metadata.name === 'visio-livekit-keys').data['api-secret'];
    expect(keys(stdout)).not.toBe(keys(first));
  });

  it('refuses an invalid spec with every error, on stderr, exit 1', async () => {
    const c = INVALID.find((x) => x.name === 'region outside the EU')!;
    expect(await run('render', '-f', file('bad.yaml', stringify(invalidManifest(c))))).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('spec.cloud.region: "us-east-2" is outside the EU; the outscale profile allows eu-west-2, cloudgouv-eu-west-1');
  });
});

describe('meet-operator validate', () => {
  it('accepts the examples', async () => {
    expect(await run('validate', '-f', 'examples/sports-generic-minimal.yaml')).toBe(0);
    expect(stdout).toBe('examples/sports-generic-minimal.yaml: valid\n');
  });

  it('lists every error with its field path', async () => {
    const m = invalidManifest(INVALID.find((x) => x.name === 'minReplicas above maxReplicas')!);
    m.spec.turn.mode = 'stunner';
    expect(await run('validate', '-f', file('two.yaml', stringify(m)))).toBe(1);
    expect(stderr).toMatch(/^error: 2 problems\n/);
    expect(stderr).toContain('  spec.turn.mode: must be one of coturn, embedded, external, disabled (got "stunner")');
    expect(stderr).toContain('  spec.autoscaling.minReplicas: minReplicas must be less than or equal to maxReplicas');
  });

  it.each([
    ['missing.yaml', null, 'no such file'],
    ['broken.yaml', 'spec: {a: [}', 'is not valid YAML at line'],
    ['two-docs.yaml', 'kind: MeetingCluster\n---\nkind: MeetingCluster\n', 'holds 2 YAML documents; pass exactly one MeetingCluster per file'],
    ['secret.yaml', 'apiVersion: v1\nkind: Secret\n', 'holds a Secret, not a MeetingCluster'],
  ])('explains a bad file (%s) without a stack trace', async (name, text, message) => {
    const p = text === null ? join(dir, name) : file(name, text);
    expect(await run('validate', '-f', p)).toBe(1);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('requires -f', async () => {
    expect(await run('validate')).toBe(1);
    expect(stderr).toContain("required option '-f, --file <file>' not specified");
  });
});

describe('meet-operator audit', () => {
  it('passes the SecNumCloud example and prints the report', async () => {
    expect(await run('audit', '-f', 'examples/interieur-outscale-cloudgouv.yaml')).toBe(0);
    expect(stdout).toContain('PASS  region         outscale region cloudgouv-eu-west-1 is in the EU');
    expect(stdout).toContain('PASS  stun           clients are offered only turn-udp.interieur.example:3478 (never Google/Twilio); the SFU takes its public IP from the cloud metadata service, without STUN or DNS');
    expect(stdout).toContain('PASS  turn           clients are handed only turns:turn.interieur.example:443, turn:turn-udp.interieur.example:3478');
    expect(stdout).toContain('PASS  encryption     Redis volume uses bsu-gp2-encrypted');
    expect(stdout).toContain('Result: compliant');
  });

  it('fails (exit 1) on a violation, as JSON when asked', async () => {
    const m = invalidManifest(INVALID.find((x) => x.name === 'Google STUN server')!);
    expect(await run('audit', '-f', file('stun.yaml', stringify(m)), '-o', 'json')).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.passed).toBe(false);
    expect(report.findings).toEqual([{ check: 'spec', verdict: 'fail', message: expect.stringContaining('stun.l.google.com:19302') }]);
  });

  it('warns when one TURN name would have to point at a load balancer and at the nodes', async () => {
    const m = invalidManifest({ name: 'x', mutate: () => {}, errors: [] });
    expect(await run('audit', '-f', file('one-name.yaml', stringify(m)))).toBe(0);
    expect(stdout).toContain('WARN  turn           clients are handed only turns:turn.justice.example:443, turn:turn.justice.example:3478; but outscale load balancers carry no UDP');
  });

  it('never prints a credential', async () => {
    await run('audit', '-f', 'examples/sports-generic-minimal.yaml', '-o', 'json');
    expect(stdout).not.toMatch(/API[A-Za-z0-9]{12}/);
  });
});

describe('meet-operator crds', () => {
  it('prints exactly the committed crds/ file (run `make generate` when this fails)', async () => {
    expect(await run('crds')).toBe(0);
    expect(stdout).toBe(readFileSync(`crds/${CRD_FILE}`, 'utf8'));
    expect(stdout).toBe(crdYaml());
  });

  it('writes the file with --out', async () => {
    const out = mkdtempSync(join(tmpdir(), 'crds-'));
    expect(await run('crds', '--out', out)).toBe(0);
    expect(readFileSync(join(out, CRD_FILE), 'utf8')).toBe(crdYaml());
  });
});

describe('meet-operator run --operator-pod-labels', () => {
  it('names the operator pods the Redis NetworkPolicies let in', () => {
    expect(operatorPeer('app.kubernetes.io/name=meet-operator, app.kubernetes.io/instance=meet', 'meet-system')).toEqual({
      namespace: 'meet-system',
      podLabels: { 'app.kubernetes.io/name': 'meet-operator', 'app.kubernetes.io/instance': 'meet' },
    });
    expect(operatorPeer(undefined, '')).toBeUndefined();
  });

  it('refuses a malformed label or a missing namespace, naming the flag', () => {
    expect(() => operatorPeer('app', 'meet-system')).toThrow(/--operator-pod-labels.*"app": is not key=value/s);
    expect(() => operatorPeer('app=bad value', 'meet-system')).toThrow(/--operator-pod-labels.*must be a label value/s);
    expect(() => operatorPeer('', 'meet-system')).toThrow(/--operator-pod-labels.*at least one label/s);
    expect(() => operatorPeer('app=x', '')).toThrow(/--operator-namespace.*\$POD_NAMESPACE/s);
  });
});

describe('meet-operator check', () => {
  it('needs one name or --all, and says so', async () => {
    expect(await run('check')).toBe(1);
    expect(stderr).toMatch(/check: name one MeetingCluster, or pass --all/);
    expect(await run('check', 'visio', '--all')).toBe(1);
  });
  it('refuses a malformed --timeout, naming the flag', async () => {
    expect(await run('check', 'visio', '--timeout', 'soon')).toBe(1);
    expect(stderr).toMatch(/--timeout: must be a duration like 90s/);
  });
});
