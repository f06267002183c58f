// redis.conf for the managed Redis. The password (requirepass) is never written here: the pod's
// start script appends it, read from its mounted Secret, to a copy of this file in memory.
import type { RenderContext } from '../context.js';
import { commentId } from './comment.js';
import { REDIS_DATA_DIR, REDIS_PORT } from './paths.js';

export function renderRedisConf(ctx: RenderContext): string {
  return [
    `# redis-server configuration rendered by meet-operator for ${commentId(ctx.mc.metadata.namespace, ctx.mc.metadata.name)}.`,
    `port ${REDIS_PORT}`,
    'bind * -::*',
    // AUTH is required (requirepass, appended at start), so protected mode adds nothing.
    'protected-mode no',
    `dir ${REDIS_DATA_DIR}`,
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    // LiveKit keeps only routing state here: evicting it would strand rooms, so refuse writes instead.
    'maxmemory-policy noeviction',
    'tcp-keepalive 60',
    '',
  ].join('\n');
}
