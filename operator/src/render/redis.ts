// Managed Redis: one StatefulSet pod with a persistent volume on the profile's (encrypted) storage
// class, password-protected, reachable only from this cluster's SFU (see network.ts).
import { ApiObject, Duration, JsonPatch, type Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { RenderContext } from './context.js';
import { REDIS_AUTH_DIR, REDIS_AUTH_FILE, REDIS_CONFIG_DIR, REDIS_CONFIG_FILE, REDIS_DATA_DIR, REDIS_PORT, REDIS_RUN_DIR } from './config/paths.js';
import { renderRedisConf } from './config/redis.js';
import { configHash } from './hash.js';
import { ANNOTATION_CONFIG_HASH, objectName, standardLabels } from '../api/names.js';
import { addService } from './service.js';
import { addWorkload, quantities } from './workload.js';
import { configFileVolume, secretFileVolume } from './volumes.js';
import { startScript } from './start-script.js';

/** uid of `redis` in the official image. */
export const REDIS_USER = 999;
/** The composed redis.conf (rendered file + requirepass), 0400, in memory. */
export const REDIS_RUNTIME_CONFIG = `${REDIS_RUN_DIR}/${REDIS_CONFIG_FILE}`;

/** Shell that starts Redis with the password appended to its configuration, never on its command line. */
export function redisStartScript(): string {
  return startScript({
    base: `${REDIS_CONFIG_DIR}/${REDIS_CONFIG_FILE}`,
    out: REDIS_RUNTIME_CONFIG,
    lines: [{ format: 'requirepass "%s"', file: `${REDIS_AUTH_DIR}/${REDIS_AUTH_FILE}`, escape: 'double-quoted' }],
    exec: `redis-server ${REDIS_RUNTIME_CONFIG}`,
  });
}
const DATA_VOLUME = 'data';

export function addRedis(chart: Chart, ctx: RenderContext): void {
  const { mc, refs } = ctx;
  const { redis } = mc.spec;
  if (redis.mode !== 'managed') return;
  const conf = renderRedisConf(ctx);
  const config = configFileVolume(chart, ctx, 'redis', 'redisConfig', REDIS_CONFIG_FILE, conf);
  const service = addService(chart, ctx, {
    name: objectName(mc, 'redis'),
    component: 'redis',
    type: 'Headless',
    ports: [{ name: 'redis', port: REDIS_PORT, targetPort: REDIS_PORT }],
  });
  const sts = addWorkload(chart, ctx, {
    component: 'redis',
    name: objectName(mc, 'redis'),
    kind: 'StatefulSet',
    replicas: 1,
    hostNetwork: false,
    user: REDIS_USER,
    terminationGracePeriodSeconds: 30,
    podAnnotations: { [ANNOTATION_CONFIG_HASH]: configHash(conf) },
    service,
    container: {
      name: 'redis',
      image: redis.image,
      command: ['sh', '-c', redisStartScript()],
      ports: [{ name: 'redis', port: REDIS_PORT }],
      mounts: [
        { volume: config, path: REDIS_CONFIG_DIR },
        { volume: secretFileVolume(chart, 'auth', refs.redis!.name, refs.redis!.key, REDIS_AUTH_FILE), path: REDIS_AUTH_DIR },
        // In memory: the composed configuration holds the password.
        { volume: kplus.Volume.fromEmptyDir(chart, `${objectName(mc, 'redis')}-run`, 'run', { medium: kplus.EmptyDirMedium.MEMORY }), path: REDIS_RUN_DIR, readOnly: false },
      ],
      liveness: kplus.Probe.fromTcpSocket({ port: REDIS_PORT, periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
      readiness: kplus.Probe.fromTcpSocket({ port: REDIS_PORT, periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
      resources: redis.resources,
    },
  });
  const api = ApiObject.of(sts);
  api.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: DATA_VOLUME, mountPath: REDIS_DATA_DIR }));
  api.addJsonPatch(
    JsonPatch.add('/spec/volumeClaimTemplates', [
      {
        metadata: { name: DATA_VOLUME, labels: standardLabels(mc, 'redis') },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(redis.storage.storageClassName ? { storageClassName: redis.storage.storageClassName } : {}),
          resources: { requests: quantities({ storage: redis.storage.size }) },
        },
      },
    ]),
  );
  // The StatefulSet controller deletes (or keeps) the PVC with the StatefulSet, which garbage
  // collection removes with the MeetingCluster: spec.redis.storage.deletePolicy needs no finalizer.
  api.addJsonPatch(
    JsonPatch.add('/spec/persistentVolumeClaimRetentionPolicy', { whenDeleted: redis.storage.deletePolicy, whenScaled: 'Retain' }),
  );
}
