import { describe, expect, it } from 'vitest';
import { parseConnectivity } from '../api/connectivity.js';
import { validateMeetingCluster } from '../api/validate.js';
import { baseManifest } from '../../test/specs.js';
import { checkCronJob } from './connectivity-check.js';
import { clusterReport, connectivitySummary } from '../check/report.js';
import { auditRendered } from '../audit/audit.js';
import { TEST_SECRETS } from '../../test/specs.js';
import { renderCluster } from './index.js';

const mc = validateMeetingCluster(baseManifest()).cluster!;

describe('checkCronJob', () => {
  const objects = checkCronJob(mc, { image: 'registry.gouv.example/meet-operator:0.1.0', schedule: '*/15 * * * *', timeoutSeconds: 10, caConfigMap: 'ministry-ca' });
  const of = (kind: string) => objects.find((o) => o.kind === kind) as any;

  it('runs `check --report` in the operator image, one at a time, non-root on a read-only root, trusting the CA given', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ServiceAccount/visio-connectivity-check', 'Role/visio-connectivity-check', 'RoleBinding/visio-connectivity-check', 'CronJob/visio-connectivity-check']);
    const cj = of('CronJob');
    expect(cj.spec).toMatchObject({ schedule: '*/15 * * * *', concurrencyPolicy: 'Forbid' });
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.serviceAccountName).toBe('visio-connectivity-check');
    const c = pod.containers[0];
    expect(c.image).toBe('registry.gouv.example/meet-operator:0.1.0');
    expect(c.args).toEqual(['check', 'visio', '-n', 'justice', '--report', '-o', 'json', '--timeout', '10s']);
    expect(c.env).toContainEqual({ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/meet-check/ca.crt' });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.volumes).toContainEqual({ name: 'ca', configMap: { name: 'ministry-ca' } });
  });

  it('grants only what the check does: its MeetingCluster and API keys by name, pods and their metrics through the proxy', () => {
    expect(of('Role').rules).toEqual([
      { apiGroups: ['meet.sovereign.io'], resources: ['meetingclusters'], resourceNames: ['visio'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['visio-livekit-keys'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
    ]);
    // Not the operator's objects: nothing it watches or prunes.
    for (const o of objects) expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
  });
});

describe('spec.checks and the sovereignty audit', () => {
  it('judges the image the check runs in (the operator\'s own) against allowedRegistries, like the spec\'s', () => {
    const m = baseManifest();
    m.spec.checks = { schedule: '@hourly' };
    // The images the stack defaults to, built by `make images`.
    m.spec.sovereignty = { allowedRegistries: ['localhost/meet-operator/'] };
    const checked = validateMeetingCluster(m).cluster!;
    const images = (operatorImage: string) => auditRendered(checked, renderCluster(checked, TEST_SECRETS, { operatorImage }), TEST_SECRETS).find((f) => f.check === 'images')!;
    const allowed = checked.spec.sovereignty.allowedRegistries;
    expect(allowed.length).toBeGreaterThan(0);
    expect(images(`${allowed[0]}meet-operator:0.1.0`).verdict).toBe('pass');
    const foreign = images('ghcr.io/somebody/meet-operator:0.1.0');
    expect(foreign).toMatchObject({ verdict: 'fail', message: expect.stringContaining('ghcr.io/somebody/meet-operator:0.1.0') });
    expect(foreign.message).not.toContain(checked.spec.sfu.image);
  });
});

describe('connectivitySummary', () => {
  it('is what the operator reads back: counts, what failed, the first hint', () => {
    const r = clusterReport('justice', 'visio', [
      { group: 'dns', name: 'visio.justice.example', status: 'pass', detail: '' },
      { group: 'turn', name: 'TURN/UDP allocate', status: 'fail', detail: '', hint: 'UDP is blocked' },
      { group: 'media', name: 'call', status: 'warn', detail: '' },
    ]);
    const s = connectivitySummary(r, new Date('2026-12-07T22:00:00.123Z'));
    expect(s).toEqual({ at: '2026-12-07T22:00:00Z', status: 'fail', passed: 1, warnings: 1, failed: ['turn/TURN/UDP allocate'], hint: 'UDP is blocked' });
    expect(parseConnectivity(JSON.stringify(s))).toEqual(s);
    expect(parseConnectivity('{"at":"yesterday","status":"pass"}')).toBeUndefined();
    expect(parseConnectivity('not json')).toBeUndefined();
  });
});
