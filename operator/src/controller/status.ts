// status of a MeetingCluster, computed (purely) from what the children report. Conditions follow
// metav1.Condition: a condition's lastTransitionTime only moves when its status changes.
import { formatFieldError, type FieldError } from '../api/errors.js';
import type { Condition, MeetingCluster, MeetingClusterStatus, TurnCertificateStatus } from '../api/types.js';
import type { KubeObject } from '../kube/object.js';
import { endpointsOf } from '../render/endpoints.js';
import { selectorLabels, selectorString } from '../api/names.js';
import type { ScalingReport } from './scaling-status.js';
import type { Cause } from './diagnosis.js';
import type { ConnectivitySummary } from '../api/connectivity.js';

export interface Availability {
  ok: boolean;
  reason: string;
  message: string;
  /** Still rolling out (new generation not observed, or pods not yet updated). */
  progressing: boolean;
}

export interface StatusInput {
  generation: number;
  previous?: MeetingClusterStatus;
  /** The defaulted spec, when valid. */
  cluster?: MeetingCluster;
  invalid?: FieldError[];
  /** The SFU Deployment that answers for the SFU now (the old slot until its pods are signalled). */
  sfu?: KubeObject;
  /** Every SFU pod of both slots (status.replicas, status.readyReplicas). */
  sfuPods?: { replicas: number; readyReplicas: number };
  /** The Upgrading condition (sfu-upgrade.ts). */
  upgrade?: { status: 'True' | 'False'; reason: string; message: string };
  turn?: KubeObject;
  redis?: KubeObject;
  /** Why a component's pods are not ready, where the operator can see it (diagnosis.ts). */
  causes?: Causes;
  applyErrors: string[];
  sovereignty: { ok: boolean; message: string };
  /** Mode, decision and load of the SFU autoscaling (valid specs). */
  scaling?: ScalingReport;
  /** The last `meet-operator check --report` result (its annotation). */
  connectivity?: ConnectivitySummary;
  /** spec.checks asked for, and whether this operator could schedule it (it knows its own image). */
  checks?: { scheduled: boolean };
  /** The TURN server's TLS certificate, when it terminates TLS and its Secret exists. */
  turnCertificate?: TurnCertificateStatus;
  now: string;
}

export type Causes = Partial<Record<'sfu' | 'turn' | 'redis', Cause>>;

/** How a cause ends its component's condition message (newCauses reads it back). */
const causeSuffix = (cause: Cause): string => `: ${cause.message}`;

/** An unavailable component's availability, with the cause its pods show (reason and message). */
export const withCause = (a: Availability, cause: Cause | undefined): Availability =>
  a.ok || !cause ? a : { ...a, reason: cause.reason, message: `${a.message}${causeSuffix(cause)}` };

const AVAILABILITY_CONDITION = { sfu: 'SFUAvailable', turn: 'TURNAvailable', redis: 'RedisAvailable' } as const;

/**
 * The causes the previous status did not already report: each gets an Event once, when it appears,
 * not on every reconcile, resync or operator restart.
 */
export function newCauses(previous: MeetingClusterStatus | undefined, causes: Causes): Cause[] {
  return (Object.entries(causes) as [keyof Causes, Cause][])
    .filter(([component, cause]) => {
      const before = previous?.conditions?.find((c) => c.type === AVAILABILITY_CONDITION[component]);
      return !(before?.reason === cause.reason && before.message.endsWith(causeSuffix(cause)));
    })
    .map(([, cause]) => cause);
}

/** Availability of a Deployment or StatefulSet from its own status. */
export function workloadAvailability(w: KubeObject | undefined, what: string): Availability {
  if (!w) return { ok: false, reason: 'NotCreated', message: `${what} not created yet`, progressing: true };
  const want = w.spec?.replicas ?? 1;
  const st = w.status ?? {};
  const observed = (st.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
  const ready = st.readyReplicas ?? 0;
  const updated = st.updatedReplicas ?? 0;
  const progressing = !observed || updated < want || (st.replicas ?? 0) > want;
  if (want === 0) return { ok: false, reason: 'ScaledToZero', message: `${what}: 0 replicas wanted`, progressing };
  const message = `${ready}/${want} ${what} pods ready`;
  if (observed && ready >= want && updated >= want) return { ok: true, reason: 'Available', message, progressing };
  return { ok: false, reason: ready > 0 ? 'PartiallyAvailable' : 'Unavailable', message, progressing };
}

const external = (reason: string, message: string): Availability => ({ ok: true, reason, message, progressing: false });

function cond(type: string, ok: boolean | Condition['status'], reason: string, message: string, generation: number): Omit<Condition, 'lastTransitionTime'> {
  const status = typeof ok === 'boolean' ? (ok ? 'True' : 'False') : ok;
  return { type, status, reason, message, observedGeneration: generation };
}

/** Keeps each condition's lastTransitionTime unless its status changed. */
export function mergeConditions(previous: Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>[], now: string): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now };
  });
}

/** What the conditions are decided from: each component's availability and the reconcile's outcome. */
interface Facts {
  generation: number;
  sfu: Availability;
  turn: Availability;
  redis: Availability;
  applyErrors: string[];
  sovereignty: { ok: boolean; message: string };
  scaling?: ScalingReport;
  upgrade?: StatusInput['upgrade'];
  connectivity?: ConnectivitySummary;
  checks?: StatusInput['checks'];
  subtitles: boolean;
  signalling: string;
}

type ConditionRule = (f: Facts) => Omit<Condition, 'lastTransitionTime'> | undefined;

const notReady = (f: Facts) => ([['SFU', f.sfu], ['TURN', f.turn], ['Redis', f.redis]] as const).filter(([, a]) => !a.ok).map(([n, a]) => `${n}: ${a.message}`);
const progressing = (f: Facts) => f.sfu.progressing || f.turn.progressing || f.redis.progressing || f.upgrade?.status === 'True';

/** The conditions of a valid spec, in the order status lists them: one small decision each (cert-manager's style). */
const CONDITIONS: ConditionRule[] = [
  (f) => {
    if (f.applyErrors.length) return cond('Ready', false, 'ApplyFailed', f.applyErrors.join('; '), f.generation);
    const waiting = notReady(f);
    return waiting.length ? cond('Ready', false, 'ComponentsNotReady', waiting.join('; '), f.generation) : cond('Ready', true, 'Ready', `serving ${f.signalling}`, f.generation);
  },
  (f) => cond(AVAILABILITY_CONDITION.sfu, f.sfu.ok, f.sfu.reason, f.sfu.message, f.generation),
  (f) => cond(AVAILABILITY_CONDITION.turn, f.turn.ok, f.turn.reason, f.turn.message, f.generation),
  (f) => cond(AVAILABILITY_CONDITION.redis, f.redis.ok, f.redis.reason, f.redis.message, f.generation),
  (f) => cond('Sovereign', f.sovereignty.ok, f.sovereignty.ok ? 'Compliant' : 'NotCompliant', f.sovereignty.message, f.generation),
  (f) => (progressing(f) ? cond('Progressing', true, 'RollingOut', 'children are converging', f.generation) : cond('Progressing', false, 'Stable', 'all children are up to date', f.generation)),
  (f) => (f.applyErrors.length ? cond('Degraded', true, 'ApplyFailed', f.applyErrors.join('; '), f.generation) : cond('Degraded', false, 'AsExpected', 'no error', f.generation)),
  (f) => (f.scaling ? cond('ScalingActive', f.scaling.condition.status, f.scaling.condition.reason, f.scaling.condition.message, f.generation) : undefined),
  (f) => (f.upgrade ? cond('Upgrading', f.upgrade.status, f.upgrade.reason, f.upgrade.message, f.generation) : undefined),
  (f) => connectivityCondition(f),
  // Issue 16 in progress: the API is accepted and audited; say plainly that nothing runs yet.
  (f) => (f.subtitles ? cond('SubtitlesReady', false, 'NotImplemented', 'spec.subtitles: this version renders the STT pool and the subtitle agent (model from a PVC), but builds neither image, does not scale the pool and runs no speaker separation yet', f.generation) : undefined),
];

/** ConnectivityVerified from the last `check --report`: its time, and what failed with the first hint. */
function connectivityCondition(f: Facts): Omit<Condition, 'lastTransitionTime'> | undefined {
  const { connectivity: c, checks, generation } = f;
  if (checks && !checks.scheduled) {
    return cond('ConnectivityVerified', 'Unknown', 'CheckNotScheduled', 'spec.checks: this operator was started without --operator-image (the chart sets it), so it cannot run the check in its own image; restart it with --operator-image', generation);
  }
  if (!c) return checks ? cond('ConnectivityVerified', 'Unknown', 'CheckPending', 'spec.checks: the scheduled check has not reported yet', generation) : undefined;
  const counts = `${c.passed} passed, ${c.warnings} warnings`;
  if (c.status !== 'fail') return cond('ConnectivityVerified', true, 'ChecksPassed', `meet-operator check at ${c.at}: ${counts}`, generation);
  return cond('ConnectivityVerified', false, 'ChecksFailed', `meet-operator check at ${c.at}: failed ${c.failed.join(', ')}; ${counts}${c.hint ? `; hint: ${c.hint}` : ''}`, generation);
}

/** TURN's availability: its own workload, the SFU it is embedded in, or what the spec says of it. */
function turnAvailability(mc: MeetingCluster, sfu: Availability, workload: KubeObject | undefined): Availability {
  const { turn } = mc.spec;
  switch (turn.mode) {
    case 'coturn':
      return workloadAvailability(workload, 'TURN');
    case 'embedded':
      return { ...sfu, reason: sfu.ok ? 'Embedded' : sfu.reason, message: `embedded in the SFU: ${sfu.message}` };
    case 'external':
      return external('External', `external TURN ${turn.external?.host}:${turn.external?.port}`);
    default:
      return external('Disabled', 'TURN is disabled: clients must reach the SFU directly');
  }
}

export function computeStatus(i: StatusInput): MeetingClusterStatus {
  const g = i.generation;
  if (!i.cluster) {
    const message = (i.invalid ?? []).map(formatFieldError).join('; ');
    const conditions = [
      cond('Ready', false, 'InvalidSpec', message, g),
      cond('Progressing', false, 'InvalidSpec', 'the spec is invalid; running children are left untouched', g),
      cond('Degraded', true, 'InvalidSpec', message, g),
    ];
    // Keep the other conditions as last computed: what runs has not changed.
    const kept = (i.previous?.conditions ?? []).filter((c) => !conditions.some((n) => n.type === c.type));
    return { ...i.previous, observedGeneration: g, conditions: [...mergeConditions(i.previous?.conditions, conditions, i.now), ...kept] };
  }
  const sfu = withCause(workloadAvailability(i.sfu, 'SFU'), i.causes?.sfu);
  const endpoints = endpointsOf(i.cluster);
  const facts: Facts = {
    generation: g,
    sfu,
    turn: withCause(turnAvailability(i.cluster, sfu, i.turn), i.turn ? i.causes?.turn : undefined),
    redis: i.cluster.spec.redis.mode === 'managed' ? withCause(workloadAvailability(i.redis, 'Redis'), i.causes?.redis) : external('External', `external Redis ${i.cluster.spec.redis.external?.address}`),
    applyErrors: i.applyErrors,
    sovereignty: i.sovereignty,
    ...(i.scaling ? { scaling: i.scaling } : {}),
    ...(i.upgrade ? { upgrade: i.upgrade } : {}),
    ...(i.connectivity ? { connectivity: i.connectivity } : {}),
    ...(i.checks ? { checks: i.checks } : {}),
    subtitles: Boolean(i.cluster.spec.subtitles),
    signalling: endpoints.signalling,
  };
  const conditions = CONDITIONS.map((rule) => rule(facts)).filter((c) => c !== undefined);
  const sfuStatus = i.sfu?.status ?? {};
  return {
    observedGeneration: g,
    conditions: mergeConditions(i.previous?.conditions, conditions, i.now),
    replicas: i.sfuPods?.replicas ?? sfuStatus.replicas ?? 0,
    readyReplicas: i.sfuPods?.readyReplicas ?? sfuStatus.readyReplicas ?? 0,
    selector: selectorString(selectorLabels(i.cluster, 'sfu')),
    ...(i.scaling?.desiredReplicas === undefined ? {} : { desiredReplicas: i.scaling.desiredReplicas }),
    ...(i.scaling?.participants === undefined ? {} : { participants: i.scaling.participants }),
    ...(i.scaling?.rooms === undefined ? {} : { rooms: i.scaling.rooms }),
    endpoints,
    ...(i.turnCertificate ? { turnCertificate: i.turnCertificate } : {}),
  };
}

/** What differs between two statuses, for a debug line: top-level fields, and conditions by type. */
export function statusChanges(next: MeetingClusterStatus, previous: MeetingClusterStatus | undefined): string[] {
  const keys = [...new Set([...Object.keys(next), ...Object.keys(previous ?? {})])].filter((k) => k !== 'conditions');
  const fields = keys.filter((k) => !sameStatus((next as Record<string, unknown>)[k], (previous as Record<string, unknown> | undefined)?.[k]));
  const types = [...new Set([...(next.conditions ?? []), ...(previous?.conditions ?? [])].map((c) => c.type))];
  const conditions = types.filter((t) => !sameStatus(next.conditions?.find((c) => c.type === t), previous?.conditions?.find((c) => c.type === t))).map((t) => `conditions[${t}]`);
  return [...fields, ...conditions];
}

/** Order-insensitive equality of two statuses (what decides whether to write). */
export function sameStatus(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([x], [y]) => x.localeCompare(y)).map(([k, x]) => [k, norm(x)])) : v;
  return JSON.stringify(norm(a ?? {})) === JSON.stringify(norm(b ?? {}));
}
