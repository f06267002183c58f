// Managed Redis and coturn replace their pods on any change of what they run, and each restart
// touches live meetings: new meetings are refused until Redis is back (a few seconds), and calls
// relayed by a restarted coturn lose their sound until their SDKs find the relay dead and restart
// ICE (about 15 s; operator/test/node/restarts.test.ts), which goes through signalling, so through
// Redis. Their changes therefore go one at a time, Redis first, each once the one before has all its
// pods updated and ready. Pure: the reconciler leaves a held helper's objects as they run.
import { LABEL_COMPONENT } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { childId } from './cluster-writes.js';
import { intentChanged } from './diff.js';
import { workloadAvailability } from './status.js';

/** The helpers whose changes are paced, in the order they go. */
export const PACED_HELPERS = ['redis', 'turn'] as const;
export type PacedHelper = (typeof PACED_HELPERS)[number];

const DISPLAY: Record<PacedHelper, string> = { redis: 'Redis', turn: 'coturn' };

/** Kinds whose change restarts a helper's pods: its workload (template) and its configuration. */
const RESTARTING_KINDS = new Set(['Deployment', 'StatefulSet', 'ConfigMap']);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);

/** A helper whose change waits this reconcile: its objects are neither applied nor pruned. */
export interface HeldHelper {
  helper: PacedHelper;
  /** The helper it waits for. */
  behind: PacedHelper;
  ids: string[];
  message: string;
}

/**
 * Which helpers' changes wait. A helper is changing when its workload runs and one of its
 * restarting objects differs from what we applied last (a drift is restored at once: it is not
 * our change); it is busy while its workload's pods are not all updated and ready. While one is
 * busy, the others' changes wait; when none is, the first changing one in PACED_HELPERS goes and
 * the later ones wait for it. A change made to a busy helper goes at once (its controller folds it
 * into the rollout under way).
 */
export function paceHelpers(children: KubeObject[], live: (o: KubeObject) => KubeObject | undefined): HeldHelper[] {
  const view = PACED_HELPERS.map((helper) => {
    const objects = children.filter((o) => RESTARTING_KINDS.has(o.kind ?? '') && o.metadata.labels?.[LABEL_COMPONENT] === helper);
    const workload = objects.find((o) => WORKLOAD_KINDS.has(o.kind ?? ''));
    const running = workload && live(workload);
    const availability = running && workloadAvailability(running, DISPLAY[helper]);
    return {
      helper,
      ids: objects.map(childId),
      // Our intent only (the digest): a drift is not our change, and apply() compares the fields itself.
      changing: !!running && objects.some((o) => {
        const l = live(o);
        return !!l && intentChanged(o, l);
      }),
      busy: !!availability && (availability.progressing || !availability.ok),
      state: availability?.message ?? '',
    };
  });
  let going = view.find((h) => h.busy);
  const held: HeldHelper[] = [];
  for (const h of view) {
    if (!h.changing) continue;
    if (!going || going === h) {
      going = h;
      continue;
    }
    held.push({
      helper: h.helper,
      behind: going.helper,
      ids: h.ids,
      message: `${DISPLAY[h.helper]}'s change waits until ${DISPLAY[going.helper]} has ${going.busy ? `finished restarting (${going.state})` : 'restarted'}: one restart at a time, so calls cut by one find the other up`,
    });
  }
  return held;
}
