// Validation of the MeetingClusters the API server holds, done once per change of what it reads:
// the reconciler and the autoscaler both ask here, so a spec is defaulted and validated once, not
// once by each (it is most of a cheap reconcile's CPU with 1000 clusters).
import { LRUCache } from 'lru-cache';
import { validateMeetingCluster, type ValidationResult } from './validate.js';

interface Live {
  metadata: { uid?: string; name: string; namespace?: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** Defaulted specs live as long as their object does; a bound keeps a leak from being unbounded. */
const MAX_ENTRIES = 10_000;

export class ValidatedSpecs {
  private readonly memo = new LRUCache<string, { stamp: string; result: ValidationResult }>({ max: MAX_ENTRIES });
  /** Validations actually run (the rest came from the memo): for tests. */
  validations = 0;

  /** The live object validated: from the memo unless it was recreated (uid) or its spec (generation), labels or annotations moved. */
  of(live: Live): ValidationResult {
    const { uid, name, namespace, generation, labels, annotations } = live.metadata;
    const key = `${namespace}/${name}`;
    const stamp = JSON.stringify([uid, generation, labels, annotations]);
    const hit = this.memo.get(key);
    if (hit?.stamp === stamp) return hit.result;
    this.validations++;
    const result = validateMeetingCluster(live);
    this.memo.set(key, { stamp, result });
    return result;
  }

  /** Drops a deleted MeetingCluster's entry (key: namespace/name). */
  forget(key: string): void {
    this.memo.delete(key);
  }
}
