// Volumes shared by the renderers: config files from ConfigMaps, single secret files with a mode
// that keeps them away from "others" (LiveKit refuses key files readable by others), and memory.
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { SECRET_FILE_MODE } from './config/paths.js';
import type { RenderContext } from './context.js';
import { objectName, standardLabels, type Component, type SUFFIX } from '../api/names.js';

/** A ConfigMap holding one rendered configuration file, and the volume `config` that mounts it. */
export function configFileVolume(chart: Chart, ctx: RenderContext, component: Component, suffix: keyof typeof SUFFIX, file: string, content: string): k8s.Volume {
  const name = objectName(ctx.mc, suffix);
  new k8s.KubeConfigMap(chart, `configmap-${name}`, {
    metadata: { name, labels: standardLabels(ctx.mc, component) },
    immutable: false,
    data: { [file]: content },
  });
  return { name: 'config', configMap: { name } };
}

/** One key of a Secret, mounted as `file` with mode 0440 (group = the pod's fsGroup). */
export const secretFileVolume = (volumeName: string, secretName: string, key: string, file: string): k8s.Volume => ({
  name: volumeName,
  secret: { secretName, defaultMode: SECRET_FILE_MODE, items: [{ key, path: file, mode: SECRET_FILE_MODE }] },
});

/** A whole kubernetes.io/tls Secret (tls.crt, tls.key). */
export const tlsVolume = (volumeName: string, secretName: string): k8s.Volume => ({ name: volumeName, secret: { secretName, defaultMode: SECRET_FILE_MODE } });

/** Memory-backed scratch space: files composed at start-up that hold a secret never touch a disk. */
export const memoryVolume = (volumeName: string): k8s.Volume => ({ name: volumeName, emptyDir: { medium: 'Memory' } });

/** An environment variable read from one key of a Secret. */
export const secretEnv = (secretName: string, key: string): k8s.EnvVarSource => ({ secretKeyRef: { name: secretName, key } });
