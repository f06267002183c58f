// The audit's verdict on where the AI pools' models come from (the other findings are exercised
// through `meet-operator audit` in cli/main.test.ts and the Sovereign condition).
import { describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../api/validate.js';
import { TEST_SECRETS, baseManifest, type Manifest } from '../../test/specs.js';
import { renderCluster } from '../render/index.js';
import { auditRendered } from './audit.js';

const models = (mutate: (m: Manifest) => void) => {
  const m = baseManifest();
  mutate(m);
  const { cluster, errors } = validateMeetingCluster(m);
  if (!cluster) throw new Error(JSON.stringify(errors));
  return auditRendered(cluster, renderCluster(cluster, TEST_SECRETS), TEST_SECRETS).filter((f) => f.check === 'models');
};

describe('audit: model sources', () => {
  it('says nothing without subtitles', () => {
    expect(models(() => {})).toEqual([]);
  });

  it('passes a claim in the namespace and an EU provider\'s object store', () => {
    const [f] = models((m) => {
      m.spec.subtitles = { stt: { model: { pvc: { claimName: 'stt-models' } } } };
      m.spec.speakerSeparation = { model: { objectStore: { url: 'https://oos.cloudgouv-eu-west-1.outscale.com/justice-models/pyannote' } } };
    });
    expect(f).toEqual({
      check: 'models',
      verdict: 'pass',
      message: "model files come from the ministry's storage, never a model hub: PersistentVolumeClaim stt-models (spec.subtitles.stt.model), oos.cloudgouv-eu-west-1.outscale.com (spec.speakerSeparation.model)",
    });
  });

  it('warns on an object store it cannot place in the EU (hubs and non-EU providers are refused before)', () => {
    const [f] = models((m) => (m.spec.subtitles = { stt: { model: { objectStore: { url: 'https://models.ministry.example/stt' } } } }));
    expect(f).toMatchObject({ verdict: 'warn', message: expect.stringContaining('models.ministry.example (spec.subtitles.stt.model)') });
    expect(() => models((m) => (m.spec.subtitles = { stt: { model: { objectStore: { url: 'https://storage.googleapis.com/kyutai/stt' } } } }))).toThrow(/spec\.subtitles\.stt\.model\.objectStore\.url/);
  });
});
