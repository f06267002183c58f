import { describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../api/validate.js';
import { WARM_UP_CLUSTER, warmUp } from './warmup.js';

describe('warmUp', () => {
  it('uses a valid cluster: a schema change that broke it would leave the first reconcile cold', () => {
    expect(validateMeetingCluster(WARM_UP_CLUSTER).errors).toEqual([]);
  });

  it('renders every child kind of a full stack', () => {
    // SFU, TURN and Redis with their config, Secrets, Services, PDBs and the Redis NetworkPolicy.
    const { children, ms } = warmUp();
    expect(children).toBeGreaterThanOrEqual(15);
    expect(ms).toBeGreaterThan(0);
  });
});
