// `meet-operator check` on a schedule inside the cluster (pure): a CronJob running the operator's own
// image with `check --report`, and exactly the rights that needs, in the ministry's namespace: read
// its MeetingCluster and write the result annotation on it, read its API keys Secret (to sign a
// participant's token), list its pods and read their metrics through the API server's pod proxy.
// spec.checks renders the same objects as the operator's own children; --print-cronjob prints them
// for a platform team to apply by hand.
import { ApiObject, type Chart } from 'cdk8s';
import { ANNOTATION_CONNECTIVITY, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, LABEL_PART_OF, standardLabels } from '../api/names.js';
import type { MeetingCluster } from '../api/types.js';
import type { RenderedObject } from '../kube/object.js';
import { secretRefs, type RenderContext } from './context.js';

export interface CheckCronJobOptions {
  image: string;
  /** Cron schedule (the CronJob's, in the controller manager's time zone unless it says otherwise). */
  schedule: string;
  /** Signalling URL instead of status.endpoints.signalling. */
  url?: string;
  /** A ConfigMap with ca.crt: a private CA the check must trust (TURN/TLS, wss). */
  caConfigMap?: string;
  timeoutSeconds: number;
}

export const checkObjectName = (mc: MeetingCluster): string => `${mc.metadata.name}-connectivity-check`;

/**
 * The check's objects. `objectLabels`: by default not the operator's (managed-by, cluster), for
 * objects the platform team applies by hand or by GitOps (--print-cronjob), which the operator neither
 * watches nor prunes; spec.checks passes the operator's own. The pods never carry them: the operator's
 * pod informer has no use for a check's pods.
 */
export function checkCronJob(mc: MeetingCluster, o: CheckCronJobOptions, objectLabels?: Record<string, string>): RenderedObject[] {
  const { name: cluster, namespace } = mc.metadata;
  const name = checkObjectName(mc);
  const labels = { [LABEL_NAME]: 'meet-operator-check', [LABEL_INSTANCE]: cluster, [LABEL_COMPONENT]: 'connectivity-check', [LABEL_PART_OF]: 'meet-operator' };
  const metadata = { name, namespace, labels: objectLabels ?? labels, annotations: { 'meet.sovereign.io/writes': ANNOTATION_CONNECTIVITY } };
  const keys = secretRefs(mc).livekitKeys.name;
  const role: RenderedObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata,
    rules: [
      { apiGroups: ['meet.sovereign.io'], resources: ['meetingclusters'], resourceNames: [cluster], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: [keys], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
    ],
  };
  const ca = o.caConfigMap ? { volume: { name: 'ca', configMap: { name: o.caConfigMap } }, mount: { name: 'ca', mountPath: '/etc/meet-check', readOnly: true } } : undefined;
  const cronJob: RenderedObject = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata,
    spec: {
      schedule: o.schedule,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: Math.max(600, o.timeoutSeconds * 40),
          ttlSecondsAfterFinished: 86_400,
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              restartPolicy: 'Never',
              securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'check',
                  image: o.image,
                  args: ['check', cluster, '-n', namespace, '--report', '-o', 'json', '--timeout', `${o.timeoutSeconds}s`, ...(o.url ? ['--url', o.url] : [])],
                  // HOME: the WebRTC library's audio layer writes under it (the root filesystem is read-only).
                  env: [{ name: 'HOME', value: '/tmp' }, ...(ca ? [{ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/meet-check/ca.crt' }] : [])],
                  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(ca ? [ca.mount] : [])],
                },
              ],
              volumes: [{ name: 'tmp', emptyDir: {} }, ...(ca ? [ca.volume] : [])],
            },
          },
        },
      },
    },
  };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    role,
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace }] },
    cronJob,
  ];
}

/** spec.checks: the same objects, as the operator's own children. */
export function addConnectivityCheck(chart: Chart, ctx: RenderContext): void {
  const { mc, options } = ctx;
  const { checks } = mc.spec;
  // Without its own image the operator cannot run the check: status says so (ConnectivityVerified).
  if (!checks || !options.operatorImage) return;
  const objects = checkCronJob(
    mc,
    {
      image: options.operatorImage,
      schedule: checks.schedule,
      timeoutSeconds: checks.timeoutSeconds,
      ...(checks.url ? { url: checks.url } : {}),
      ...(checks.caConfigMap ? { caConfigMap: checks.caConfigMap } : {}),
    },
    standardLabels(mc, 'connectivity-check'),
  );
  for (const o of objects) new ApiObject(chart, `${o.kind.toLowerCase()}-${o.metadata.name}`, o as ConstructorParameters<typeof ApiObject>[2]);
}
