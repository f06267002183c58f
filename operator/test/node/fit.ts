// An example MeetingCluster fitted to one real 2-core node, and nothing else changed: the images built
// here (the examples name a ministry's mirror of the same recipes), one SFU and one coturn pod (one
// node: host ports), CPU requests the node can hold, no zone pinning, the built images' registry
// allowed. Used by the node tests (cluster.ts) and by `make dev` (hack/dev-up.sh runs this file:
// `node operator/test/node/fit.ts EXAMPLE IMAGES_JSON` prints the fitted manifest as YAML).
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

export interface StackImages {
  sfu: string;
  turn: string;
  redis: string;
}

export function fitToOneNode(manifest: any, images: StackImages): any {
  const m = structuredClone(manifest);
  const spec = m.spec;
  spec.sfu = { ...spec.sfu, image: images.sfu, replicas: 1, resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } } };
  spec.autoscaling = { ...spec.autoscaling, enabled: false };
  if ((spec.turn?.mode ?? 'coturn') === 'coturn') {
    spec.turn = { ...spec.turn, image: images.turn, replicas: 1, resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } } };
  }
  if ((spec.redis?.mode ?? 'managed') === 'managed') {
    spec.redis = { ...spec.redis, image: images.redis, resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } } };
  }
  // One node, in one zone: the examples' zone pinning would leave pods Pending.
  if (spec.cloud?.zones) delete spec.cloud.zones;
  if (spec.sovereignty?.allowedRegistries?.length) spec.sovereignty.allowedRegistries = [registryOf(images.sfu)];
  return m;
}

/** "localhost/meet-operator/livekit-server:v1" -> "localhost/meet-operator/" */
const registryOf = (ref: string): string => ref.slice(0, ref.lastIndexOf('/') + 1);

/** The images images/build.mjs recorded in images.json. */
export function stackImages(imagesJson: string): StackImages {
  const list: { name: string; ref: string }[] = JSON.parse(readFileSync(imagesJson, 'utf8'));
  const ref = (name: string) => {
    const i = list.find((x) => x.name === name);
    if (!i) throw new Error(`no image ${name} in ${imagesJson} (make images)`);
    return i.ref;
  };
  return { sfu: ref('livekit-server'), turn: ref('coturn'), redis: ref('redis') };
}

if (import.meta.filename === process.argv[1]) {
  const [example, imagesJson] = process.argv.slice(2);
  if (!example || !imagesJson) {
    process.stderr.write('usage: node operator/test/node/fit.ts EXAMPLE.yaml IMAGES_JSON\n');
    process.exit(2);
  }
  process.stdout.write(stringify(fitToOneNode(parse(readFileSync(example, 'utf8')), stackImages(imagesJson)), { lineWidth: 0 }));
}
