// Sharing a fleet-wide SFU node budget (`meet-operator run --max-total-sfu-nodes`) between
// ministries. Pure. Guarantees first: each cluster keeps its minReplicas and the pods it already
// runs (taking a running pod away would cut meetings); the rest of the budget goes one node at a
// time to the cluster with the most participants per granted node, so capacity follows load.

export interface Claim {
  key: string;
  /** Replicas the cluster's own decision asks for. */
  wanted: number;
  minReplicas: number;
  /** Replicas it runs now. */
  current: number;
  /** Participants it carries (the share is proportional to this). */
  load: number;
}

export interface Grant {
  replicas: number;
  /** wanted - replicas: what the budget could not give. */
  shortfall: number;
}

/** The floor a claim keeps whatever the budget: its minimum, and what it runs if it still wants it. */
export const guaranteed = (c: Claim): number => Math.max(c.minReplicas, Math.min(c.current, c.wanted));

export function shareCapacity(claims: readonly Claim[], maxTotal?: number): Map<string, Grant> {
  const granted = new Map(claims.map((c) => [c.key, maxTotal === undefined ? c.wanted : guaranteed(c)]));
  if (maxTotal !== undefined) {
    let left = maxTotal - [...granted.values()].reduce((a, n) => a + n, 0);
    const open = claims.filter((c) => granted.get(c.key)! < c.wanted);
    while (left > 0 && open.length) {
      // Most participants per granted node first; ties: the larger unmet need, then the key (stable).
      let best = 0;
      for (let i = 1; i < open.length; i++) if (before(open[i]!, open[best]!, granted)) best = i;
      const c = open[best]!;
      const n = granted.get(c.key)! + 1;
      granted.set(c.key, n);
      left--;
      if (n >= c.wanted) open.splice(best, 1);
    }
  }
  return new Map(claims.map((c) => [c.key, { replicas: granted.get(c.key)!, shortfall: Math.max(0, c.wanted - granted.get(c.key)!) }]));
}

function before(a: Claim, b: Claim, granted: Map<string, number>): boolean {
  const ga = granted.get(a.key)!;
  const gb = granted.get(b.key)!;
  // load/granted compared without dividing (granted >= minReplicas >= 1).
  const da = a.load * gb;
  const db = b.load * ga;
  if (da !== db) return da > db;
  const na = a.wanted - ga;
  const nb = b.wanted - gb;
  if (na !== nb) return na > nb;
  return a.key < b.key;
}
