// The Secrets holding generated credentials. Values are inputs (created once by the controller
// with a CSPRNG); a Secret the user names in the spec is referenced instead and never rendered.
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { RenderContext } from './context.js';
import { standardLabels, type Component } from '../api/names.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function addSecret(chart: Chart, ctx: RenderContext, component: Component, name: string, data: Record<string, string>): void {
  new k8s.KubeSecret(chart, `secret-${name}`, {
    metadata: { name, labels: standardLabels(ctx.mc, component) },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
}

export function addGeneratedSecrets(chart: Chart, ctx: RenderContext): void {
  const { refs, secrets } = ctx;
  if (refs.livekitKeys.generated) {
    addSecret(chart, ctx, 'sfu', refs.livekitKeys.name, {
      [refs.livekitKeys.key]: `${secrets.livekitApiKey}: ${secrets.livekitApiSecret}\n`,
      'api-key': secrets.livekitApiKey,
      'api-secret': secrets.livekitApiSecret,
    });
  }
  if (refs.turn?.generated) addSecret(chart, ctx, 'turn', refs.turn.name, { [refs.turn.key]: secrets.turnSharedSecret });
  if (refs.redis?.generated) addSecret(chart, ctx, 'redis', refs.redis.name, { [refs.redis.key]: secrets.redisPassword });
  if (refs.stt?.generated) addSecret(chart, ctx, 'stt', refs.stt.name, { [refs.stt.key]: secrets.sttApiKey });
}
