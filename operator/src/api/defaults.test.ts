import { describe, expect, it } from 'vitest';
import { baseManifest } from '../../test/specs.js';
import { applySchemaDefaults, withDefaults } from './defaults.js';
import { meetingClusterSchema } from './schema.js';

describe('defaults', () => {
  it('fills nested defaults like the API server (objects default to {})', () => {
    const mc = withDefaults(baseManifest());
    expect(mc.spec.sfu.rtc).toEqual({ tcpPort: 7881, udpPortRange: { start: 50000, end: 60000 } });
    expect(mc.spec.turn.relayPortRange).toEqual({ start: 30000, end: 40000 });
    expect(mc.spec.redis).toMatchObject({ mode: 'managed', storage: { size: '1Gi', deletePolicy: 'Retain' } });
    expect(mc.spec.autoscaling).toMatchObject({ enabled: false, metric: 'participants', minReplicas: 2, maxReplicas: 10 });
    expect(mc.spec.sovereignty).toEqual({ allowedRegistries: [], stunServers: [] });
  });

  it('keeps what the user set', () => {
    const m = baseManifest();
    m.spec.sfu = { rtc: { tcpPort: 7999 }, replicas: 0 };
    const mc = withDefaults(m);
    expect(mc.spec.sfu.rtc.tcpPort).toBe(7999);
    expect(mc.spec.sfu.rtc.udpPortRange.start).toBe(50000);
    expect(mc.spec.sfu.replicas).toBe(0);
  });

  it('defaults the ministry to the namespace and storage to the profile class', () => {
    const mc = withDefaults(baseManifest());
    expect(mc.spec.ministry).toBe('justice');
    expect(mc.spec.redis.storage.storageClassName).toBe('bsu-gp2-encrypted');
    const g = baseManifest();
    g.spec.cloud = { profile: 'generic' };
    expect(withDefaults(g).spec.redis.storage.storageClassName).toBeUndefined();
  });

  it('defaults list items (tolerations keep their own fields)', () => {
    const out = applySchemaDefaults(meetingClusterSchema, { spec: { sfu: { tolerations: [{ key: 'media' }] } } }) as any;
    expect(out.spec.sfu.tolerations).toEqual([{ key: 'media' }]);
  });
});
