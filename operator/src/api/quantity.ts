// Kubernetes resource quantities (500m, 2, 1.5Gi, 1e3) as numbers, to compare requests with limits
// before the API server would refuse the pod template.
const SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([numkMGTPE]i?|)$/.exec(q.trim());
  if (!m) return undefined;
  const factor = SUFFIX[m[2]!];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}
