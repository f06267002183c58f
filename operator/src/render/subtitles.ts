// spec.subtitles: the STT pool (moshi-server, Kyutai STT) and the subtitle agent that opens one
// stream per participant to it. The pool's API key is generated (never in a ConfigMap): moshi-server
// only reads it from its configuration file, so the start script composes that file in memory, the
// key first (a TOML root key must precede every table), then the rendered part, then the model's own
// part from the model directory. Only this ministry's agents (and the operator, which reads each
// pod's slots) may reach the pool.
import type { Chart } from 'cdk8s';
import { objectName, selectorLabels } from '../api/names.js';
import type { GpuSpec, ResourceRequirements, SubtitlesSpec } from '../api/types.js';
import { AGENT_HEALTH_PORT, STT_CONFIG_DIR, STT_CONFIG_FILE, STT_KEY_DIR, STT_KEY_FILE, STT_MODEL_CONFIG_FILE, STT_MODEL_DIR, STT_PATH, STT_PORT, STT_RUN_DIR } from './config/paths.js';
import type { RenderContext } from './context.js';
import { addIngressPolicy } from './network.js';
import { addService } from './service.js';
import { startScript } from './start-script.js';
import { configFileVolume, memoryVolume, secretEnv, secretFileVolume } from './volumes.js';
import { addDisruptionBudget, addWorkload, httpProbe, type Mount } from './workload.js';

/** The user both images run as (neither needs a name in /etc/passwd). */
const STT_USER = 10001;
/** The model files the rendered configuration names; the model's own TOML part names the rest. */
export const STT_MODEL_FILES = { lm: 'model.safetensors', textTokenizer: 'tokenizer.model', audioTokenizer: 'mimi.safetensors' } as const;

/** The rendered part of moshi-server's configuration: everything but the API key and the model's architecture. */
export function renderMoshiConfig(ctx: RenderContext, stt: SubtitlesSpec['stt']): string {
  return [
    `static_dir = "${STT_RUN_DIR}/static"`,
    `log_dir = "${STT_RUN_DIR}/logs"`,
    `instance_name = "${objectName(ctx.mc, 'stt')}"`,
    '',
    '[modules.asr]',
    'type = "BatchedAsr"',
    `path = "${STT_PATH}"`,
    `batch_size = ${stt.slotsPerPod}`,
    `lm_model_file = "${STT_MODEL_DIR}/${STT_MODEL_FILES.lm}"`,
    `text_tokenizer_file = "${STT_MODEL_DIR}/${STT_MODEL_FILES.textTokenizer}"`,
    `audio_tokenizer_file = "${STT_MODEL_DIR}/${STT_MODEL_FILES.audioTokenizer}"`,
    '',
  ].join('\n');
}

/** CPU and memory as the spec says, plus the GPUs as an extended resource (limits = requests). */
export function withGpu(resources: ResourceRequirements, gpu: GpuSpec): ResourceRequirements {
  if (!gpu.count) return resources;
  return { requests: { ...resources.requests, [gpu.resourceName]: String(gpu.count) }, limits: { ...resources.limits, [gpu.resourceName]: String(gpu.count) } };
}

export function addSubtitles(chart: Chart, ctx: RenderContext): void {
  const { mc, refs } = ctx;
  const { subtitles } = mc.spec;
  // Model files from an object store need a fetch at start: not rendered yet (README "Subtitles").
  if (!subtitles || !refs.stt || !subtitles.stt.model.pvc) return;
  addSttPool(chart, ctx, subtitles.stt, refs.stt.name);
  addSubtitleAgent(chart, ctx, subtitles, refs.stt.name);
}

function addSttPool(chart: Chart, ctx: RenderContext, stt: SubtitlesSpec['stt'], keySecret: string): void {
  const { mc } = ctx;
  const name = objectName(mc, 'stt');
  const pvc = stt.model.pvc!;
  const mounts: Mount[] = [
    { volume: configFileVolume(chart, ctx, 'stt', 'sttConfig', STT_CONFIG_FILE, renderMoshiConfig(ctx, stt)), path: STT_CONFIG_DIR },
    { volume: secretFileVolume('api-key', keySecret, 'api-key', STT_KEY_FILE), path: STT_KEY_DIR },
    { volume: memoryVolume('run'), path: STT_RUN_DIR, readOnly: false },
    { volume: { name: 'model', persistentVolumeClaim: { claimName: pvc.claimName, readOnly: true } }, path: STT_MODEL_DIR, ...(pvc.subPath ? { subPath: pvc.subPath } : {}) },
  ];
  const script = startScript({
    prelude: [`mkdir -p ${STT_RUN_DIR}/static ${STT_RUN_DIR}/logs`],
    out: `${STT_RUN_DIR}/config.toml`,
    head: [{ format: 'authorized_ids = ["%s"]', file: `${STT_KEY_DIR}/${STT_KEY_FILE}`, escape: 'double-quoted' }],
    base: `${STT_CONFIG_DIR}/${STT_CONFIG_FILE}`,
    tail: [`${STT_MODEL_DIR}/${STT_MODEL_CONFIG_FILE}`],
    exec: `moshi-server worker --config ${STT_RUN_DIR}/config.toml --port ${STT_PORT}${stt.gpu.count ? '' : ' --cpu'}`,
  });
  addWorkload(chart, ctx, {
    component: 'stt',
    name,
    // The operator's STT autoscaler will own this count (scaling/stt.ts); until then, the minimum.
    replicas: stt.minPods,
    hostNetwork: false,
    user: STT_USER,
    nodeSelector: stt.nodeSelector,
    tolerations: stt.tolerations,
    container: {
      name: 'moshi-server',
      image: stt.image,
      command: ['sh', '-c', script],
      ports: [{ name: 'http', port: STT_PORT }],
      mounts,
      // Loading a model takes a while on CPU: the startup probe waits for it, then readiness follows the slots endpoint.
      startup: httpProbe('/api/modules_info', STT_PORT, 5, 120),
      readiness: httpProbe('/api/modules_info', STT_PORT, 5, 2),
      liveness: httpProbe('/api/modules_info', STT_PORT, 10, 3),
      resources: withGpu(stt.resources, stt.gpu),
    },
  });
  addService(chart, ctx, { name, component: 'stt', type: 'ClusterIP', ports: [{ name: 'http', port: STT_PORT, targetPort: 'http' }] });
  addDisruptionBudget(chart, ctx, 'stt', name);
  addIngressPolicy(chart, ctx, { suffix: 'netpolStt', component: 'stt', from: [{ podSelector: { matchLabels: selectorLabels(mc, 'subtitle-agent') } }], port: STT_PORT });
}

function addSubtitleAgent(chart: Chart, ctx: RenderContext, subtitles: SubtitlesSpec, keySecret: string): void {
  const { mc, refs } = ctx;
  const { agent } = subtitles;
  const ns = mc.metadata.namespace;
  const name = objectName(mc, 'subtitleAgent');
  addWorkload(chart, ctx, {
    component: 'subtitle-agent',
    name,
    replicas: agent.replicas,
    hostNetwork: false,
    user: STT_USER,
    // A stopping agent finishes the sessions it holds for drainSeconds: killed earlier, subtitles stop mid-meeting.
    terminationGracePeriodSeconds: agent.drainSeconds + 15,
    container: {
      name: 'agent',
      image: agent.image,
      ports: [{ name: 'health', port: AGENT_HEALTH_PORT }],
      env: {
        LIVEKIT_API_KEY: secretEnv(refs.livekitKeys.name, 'api-key'),
        LIVEKIT_API_SECRET: secretEnv(refs.livekitKeys.name, 'api-secret'),
        STT_API_KEY: secretEnv(keySecret, 'api-key'),
      },
      values: {
        LIVEKIT_URL: `ws://${objectName(mc, 'signalling')}.${ns}.svc:${mc.spec.signalling.port}`,
        STT_URL: `ws://${objectName(mc, 'stt')}.${ns}.svc:${STT_PORT}${STT_PATH}`,
        DRAIN_SECONDS: String(agent.drainSeconds),
      },
      readiness: httpProbe('/', AGENT_HEALTH_PORT, 10, 3),
      resources: agent.resources,
    },
  });
  addDisruptionBudget(chart, ctx, 'subtitle-agent', name);
}
