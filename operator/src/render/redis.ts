// Managed Redis: one StatefulSet pod with a persistent volume on the profile's (encrypted) storage
// class, password-protected, reachable only from this cluster's SFU (see network.ts).
import type { Chart } from 'cdk8s';
import type { RenderContext } from './context.js';
import { REDIS_AUTH_DIR, REDIS_AUTH_FILE, REDIS_CONFIG_DIR, REDIS_CONFIG_FILE, REDIS_DATA_DIR, REDIS_PORT, REDIS_RUN_DIR } from './config/paths.js';
import { renderRedisConf } from './config/redis.js';
import { configHash } from './hash.js';
import { ANNOTATION_CONFIG_HASH, objectName } from '../api/names.js';
import { addService } from './service.js';
import { addWorkload, quantities, tcpProbe } from './workload.js';
import { configFileVolume, memoryVolume, secretFileVolume } from './volumes.js';
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

export function addRedis(chart: Chart, ctx: RenderContext): void {
  const { mc, refs } = ctx;
  const { redis } = mc.spec;
  if (redis.mode !== 'managed') return;
  const conf = renderRedisConf(ctx);
  const config = configFileVolume(chart, ctx, 'redis', 'redisConfig', REDIS_CONFIG_FILE, conf);
  addService(chart, ctx, {
    name: objectName(mc, 'redis'),
    component: 'redis',
    type: 'Headless',
    ports: [{ name: 'redis', port: REDIS_PORT, targetPort: REDIS_PORT }],
  });
  addWorkload(chart, ctx, {
    component: 'redis',
    name: objectName(mc, 'redis'),
    replicas: 1,
    hostNetwork: false,
    user: REDIS_USER,
    terminationGracePeriodSeconds: 30,
    podAnnotations: { [ANNOTATION_CONFIG_HASH]: configHash(conf) },
    stateful: {
      serviceName: objectName(mc, 'redis'),
      claim: {
        name: 'data',
        path: REDIS_DATA_DIR,
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(redis.storage.storageClassName ? { storageClassName: redis.storage.storageClassName } : {}),
          resources: { requests: quantities({ storage: redis.storage.size }) },
        },
      },
      whenDeleted: redis.storage.deletePolicy,
    },
    container: {
      name: 'redis',
      image: redis.image,
      command: ['sh', '-c', redisStartScript()],
      ports: [{ name: 'redis', port: REDIS_PORT }],
      mounts: [
        { volume: config, path: REDIS_CONFIG_DIR },
        { volume: secretFileVolume('auth', refs.redis!.name, refs.redis!.key, REDIS_AUTH_FILE), path: REDIS_AUTH_DIR },
        // In memory: the composed configuration holds the password.
        { volume: memoryVolume('run'), path: REDIS_RUN_DIR, readOnly: false },
      ],
      liveness: tcpProbe(REDIS_PORT, 10, 3),
      readiness: tcpProbe(REDIS_PORT, 5, 2),
      resources: redis.resources,
    },
  });
}
