// Volumes shared by the renderers: config files from ConfigMaps and single secret files with a
// mode that keeps them away from "others" (LiveKit refuses key files readable by others).
import type { Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { SECRET_FILE_MODE } from './config/paths.js';
import type { RenderContext } from './context.js';
import { objectName, standardLabels, type Component, type SUFFIX } from '../api/names.js';

/** A ConfigMap holding one rendered configuration file, and the volume `config` that mounts it. */
export function configFileVolume(chart: Chart, ctx: RenderContext, component: Component, suffix: keyof typeof SUFFIX, file: string, content: string): kplus.Volume {
  const name = objectName(ctx.mc, suffix);
  const configMap = new kplus.ConfigMap(chart, `configmap-${name}`, {
    metadata: { name, labels: standardLabels(ctx.mc, component) },
    data: { [file]: content },
  });
  return kplus.Volume.fromConfigMap(chart, `${name}-volume`, configMap, { name: 'config' });
}

/** One key of a Secret, mounted as `file` with mode 0440 (group = the pod's fsGroup). */
export function secretFileVolume(chart: Chart, volumeName: string, secretName: string, key: string, file: string): kplus.Volume {
  const id = `${volumeName}-${secretName}`;
  const secret = kplus.Secret.fromSecretName(chart, `${id}-ref`, secretName);
  return kplus.Volume.fromSecret(chart, id, secret, {
    name: volumeName,
    defaultMode: SECRET_FILE_MODE,
    items: { [key]: { path: file, mode: SECRET_FILE_MODE } },
  });
}

/** A whole kubernetes.io/tls Secret (tls.crt, tls.key). */
export function tlsVolume(chart: Chart, volumeName: string, secretName: string): kplus.Volume {
  const secret = kplus.Secret.fromSecretName(chart, `${volumeName}-${secretName}-ref`, secretName);
  return kplus.Volume.fromSecret(chart, `${volumeName}-${secretName}`, secret, { name: volumeName, defaultMode: SECRET_FILE_MODE });
}

export const secretEnv = (chart: Chart, secretName: string, key: string): kplus.EnvValue =>
  kplus.EnvValue.fromSecretValue({ secret: secretRef(chart, secretName), key });

function secretRef(chart: Chart, name: string): kplus.ISecret {
  const id = `env-${name}`;
  return (chart.node.tryFindChild(id) as kplus.ISecret | undefined) ?? kplus.Secret.fromSecretName(chart, id, name);
}
