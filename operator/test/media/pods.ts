// The local runner: turns the renderer's output into processes exactly as a kubelet would start
// the pod's container, with local binaries standing for the images.
//
// - ConfigMap and Secret volumes are written under <dir>/root/<mountPath> with the kubelet's layout
//   (..data symlink to a timestamped directory) and modes (defaultMode / items[].mode, then the
//   fsGroup ownership pass: group = fsGroup, mode |= 0440); emptyDir and volume claims are empty
//   group-writable directories.
// - Every container path under a mount is rewritten to <dir>/root/<mountPath> (config file
//   contents, command, args, env): the one systematic rewrite, since the pod's filesystem is not /.
// - env: value (with $(VAR) references to earlier variables), secretKeyRef, configMapKeyRef and
//   fieldRef (status.hostIP / status.podIP -> hostIP, metadata.*, spec.nodeName).
// - command/args: Kubernetes $(VAR) expansion ($$ escapes, unknown references stay verbatim);
//   no command -> the image's entrypoint; argv[0] is looked up in the image's PATH.
// - The process runs as the container's runAsUser/runAsGroup with the fsGroup as extra group.
//
// Nothing else is changed here. Port and address rewrites a loopback run needs are explicit edits
// (see loopback.ts), each checked to touch only ports and addresses.
import { chownSync, chmodSync, linkSync, mkdirSync, copyFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RenderedObject as KubeObject } from '../../src/kube/object.js';
import { BASE_PATH, type RunAs } from './sandbox.js';

export interface ImageBinding {
  /** The image's ENTRYPOINT, used when the container has no command. */
  entrypoint?: string[];
  /** Directory standing for the image's binaries; first on PATH. */
  binDir: string;
  /** Absolute paths of the image's programs (e.g. /livekit-server) -> the local binary standing for them. */
  programs?: Record<string, string>;
}
export type ImageResolver = (image: string) => ImageBinding;

export interface MaterialiseOptions {
  /** Rendered objects, plus the Secrets a user would have created (e.g. a TLS Secret). */
  objects: KubeObject[];
  /** Name of the Deployment or StatefulSet. */
  workload: string;
  podName: string;
  /** Directory holding this pod's filesystem view (created). */
  dir: string;
  images: ImageResolver;
  /** What status.hostIP (and, with hostNetwork, status.podIP) resolve to. */
  hostIP: string;
  /**
   * Edits of rendered ConfigMap files, keyed by container path (e.g. /etc/livekit/livekit.yaml),
   * applied before the path rewrite. Only port/address edits belong here (loopback.ts).
   */
  edit?: Record<string, (content: string) => string>;
  /**
   * The container to run, by name (default: the first, the pod's main container). The runner runs
   * one container per pod; a sidecar (coturn's tls-reloader) is left out unless named here.
   */
  container?: string;
  /** Environment the test adds or removes on top of the container's (controls only). */
  envOverride?: Record<string, string | undefined>;
  /**
   * The spec of a live Pod read from an API server, as a kubelet sees it (scheduled, defaults
   * filled in, claims already named), run instead of the workload's pod template; objects still
   * supply the ConfigMaps and Secrets it references.
   */
  podSpec?: PodSpec;
}

export interface PodProcess {
  podName: string;
  argv: string[];
  env: Record<string, string>;
  user: RunAs;
  cwd: string;
  /** Local directory standing for the container's /. */
  root: string;
  /** Container path -> local path of every file written from a ConfigMap or Secret. */
  files: Record<string, string>;
  /** readOnlyRootFilesystem: the local directories of the writable volumes; undefined when the root is writable. */
  readOnlyRoot?: { writable: string[] };
  /** The container spec, as rendered. */
  container: Container;
  pod: PodSpec;
}

/* Minimal shapes of the parts of the Kubernetes API the runner reads. */
interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number };
  emptyDir?: Record<string, unknown>;
  persistentVolumeClaim?: { claimName: string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
interface SecurityContext {
  readOnlyRootFilesystem?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  supplementalGroups?: number[];
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  securityContext?: SecurityContext;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}
export interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext;
  hostNetwork?: boolean;
  enableServiceLinks?: boolean;
}

/**
 * Kubernetes' $(VAR) expansion (k8s.io/kubernetes third_party/forked/golang/expansion):
 * $(NAME) -> value when NAME is known, else left as "$(NAME)"; $$ -> $; any other $ is literal.
 */
export function expandK8s(input: string, vars: Record<string, string>): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] === '$' && cursor + 1 < input.length) {
      out += input.slice(checkpoint, cursor);
      const rest = input.slice(cursor + 1);
      let read: string;
      let isVar = false;
      let advance: number;
      if (rest[0] === '$') {
        read = '$';
        advance = 1;
      } else if (rest[0] === '(') {
        const close = rest.indexOf(')', 1);
        if (close === -1) {
          read = '$(';
          advance = 1;
        } else {
          read = rest.slice(1, close);
          isVar = true;
          advance = close + 1;
        }
      } else {
        read = '$' + rest[0];
        advance = 1;
      }
      out += isVar ? (Object.hasOwn(vars, read) ? vars[read]! : `$(${read})`) : read;
      cursor += advance;
      checkpoint = cursor + 1;
    }
  }
  return out + input.slice(checkpoint);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites every absolute path under one of mountPaths to root + path. A path must start at a
 * token boundary (not preceded by a word character, '/', '.' or '-') and end at a '/' or a
 * non-path character, so /etc/livekit never matches inside /etc/livekitx or an already rewritten path.
 */
export function rewritePaths(text: string, mountPaths: string[], root: string): string {
  if (!mountPaths.length) return text;
  const sorted = [...new Set(mountPaths)].sort((a, b) => b.length - a.length);
  const re = new RegExp(`(?<![\\w/.-])(${sorted.map(escapeRe).join('|')})(?=/|[^\\w.-]|$)`, 'g');
  return text.replace(re, (p) => root + p);
}

function findWorkload(objects: KubeObject[], name: string): { pod: PodSpec; claimTemplates: string[] } {
  const w = objects.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === name) as any;
  if (!w) throw new Error(`no Deployment or StatefulSet named ${name} in the rendered objects`);
  const claimTemplates = (w.spec.volumeClaimTemplates ?? []).map((t: any) => t.metadata.name as string);
  return { pod: w.spec.template.spec as PodSpec, claimTemplates };
}

function dataOf(objects: KubeObject[], kind: 'Secret' | 'ConfigMap', name: string): Record<string, Buffer> {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name) as any;
  if (!o) throw new Error(`${kind} ${name} is referenced by the pod but is neither rendered nor supplied by the test`);
  const out: Record<string, Buffer> = {};
  if (kind === 'Secret') {
    for (const [k, v] of Object.entries<string>(o.data ?? {})) out[k] = Buffer.from(v, 'base64');
    for (const [k, v] of Object.entries<string>(o.stringData ?? {})) out[k] = Buffer.from(v, 'utf8');
  } else {
    for (const [k, v] of Object.entries<string>(o.data ?? {})) out[k] = Buffer.from(v, 'utf8');
    for (const [k, v] of Object.entries<string>(o.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  }
  return out;
}

/** Kubelet's fsGroup ownership pass (pkg/volume/volume_linux.go): group fsGroup, mode |= mask. */
function fsGroupOwn(path: string, fsGroup: number | undefined, mode: number, readOnly: boolean, isDir: boolean): void {
  let m = mode;
  if (fsGroup !== undefined) {
    chownSync(path, 0, fsGroup);
    m |= readOnly ? 0o440 : 0o660;
    if (isDir) m |= 0o2000 | 0o110;
  }
  chmodSync(path, m);
}

/**
 * A ConfigMap/Secret volume as the kubelet's atomic writer lays it out:
 * <dir>/..<ts>/<file>, <dir>/..data -> ..<ts>, <dir>/<file> -> ..data/<file>.
 */
function writeProjected(dir: string, files: { path: string; content: Buffer; mode: number }[], fsGroup: number | undefined): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const ts = '..2026_01_01_00_00_00.000000001';
  const tsDir = join(dir, ts);
  mkdirSync(tsDir, { mode: 0o755 });
  const written: string[] = [];
  const top = new Set<string>();
  for (const f of files) {
    const p = join(tsDir, f.path);
    mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
    writeFileSync(p, f.content);
    fsGroupOwn(p, fsGroup, f.mode, true, false);
    top.add(f.path.split('/')[0]!);
    written.push(f.path);
  }
  fsGroupOwn(tsDir, fsGroup, 0o755, true, true);
  symlinkSync(ts, join(dir, '..data'));
  for (const t of top) symlinkSync(join('..data', t), join(dir, t));
  fsGroupOwn(dir, fsGroup, 0o755, true, true);
  return written;
}

/** Builds the pod's filesystem view and the exact process the container would run. */
export function materialise(opts: MaterialiseOptions): PodProcess {
  const { pod, claimTemplates } = opts.podSpec ? { pod: opts.podSpec, claimTemplates: [] as string[] } : findWorkload(opts.objects, opts.workload);
  const container = opts.container ? pod.containers.find((c) => c.name === opts.container) : pod.containers[0];
  if (!container) throw new Error(`${opts.workload}: no container ${opts.container} (has ${pod.containers.map((c) => c.name).join(', ')})`);
  const root = join(opts.dir, 'root');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  const local = (p: string) => join(root, p);

  const psc = pod.securityContext ?? {};
  const csc = container.securityContext ?? {};
  const uid = csc.runAsUser ?? psc.runAsUser ?? 0;
  const gid = csc.runAsGroup ?? psc.runAsGroup ?? 0;
  const fsGroup = psc.fsGroup;
  const user: RunAs = { uid, gid, groups: [gid, ...(fsGroup !== undefined ? [fsGroup] : []), ...(psc.supplementalGroups ?? [])] };

  const mounts = container.volumeMounts ?? [];
  const mountPaths = mounts.map((m) => m.mountPath);
  const rewrite = (s: string) => rewritePaths(s, mountPaths, root);
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  const files: Record<string, string> = {};
  const writable: string[] = [];
  const edits = { ...(opts.edit ?? {}) };

  // Parents first, so a mount nested in another (/etc/livekit/keys in /etc/livekit) lands inside it.
  for (const m of [...mounts].sort((a, b) => a.mountPath.length - b.mountPath.length)) {
    if (m.subPath) throw new Error(`${opts.workload}: subPath mounts are not handled by the runner`);
    const dir = local(m.mountPath);
    const v = volumes.get(m.name);
    if (!v) {
      if (!claimTemplates.includes(m.name)) throw new Error(`${opts.workload}: volumeMount ${m.name} has no volume`);
      // A fresh PersistentVolume from the claim template: empty, group-writable by the fsGroup.
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      fsGroupOwn(dir, fsGroup, 0o755, false, true);
      if (!m.readOnly) writable.push(dir);
      continue;
    }
    if (v.emptyDir) {
      mkdirSync(dir, { recursive: true });
      fsGroupOwn(dir, fsGroup, 0o777, false, true);
      if (!m.readOnly) writable.push(dir);
    } else if (v.persistentVolumeClaim) {
      mkdirSync(dir, { recursive: true });
      fsGroupOwn(dir, fsGroup, 0o755, false, true);
      if (!m.readOnly) writable.push(dir);
    } else if (v.configMap || v.secret) {
      const isSecret = !!v.secret;
      const src = v.configMap ?? v.secret!;
      const name = v.configMap ? v.configMap.name : v.secret!.secretName;
      const data = dataOf(opts.objects, isSecret ? 'Secret' : 'ConfigMap', name);
      const defaultMode = src.defaultMode ?? 0o644;
      const items = src.items ?? Object.keys(data).map((key) => ({ key, path: key }) as KeyToPath);
      const out = items.map((it) => {
        const content = data[it.key];
        if (!content) throw new Error(`${opts.workload}: key ${it.key} missing from ${isSecret ? 'Secret' : 'ConfigMap'} ${name}`);
        const containerPath = `${m.mountPath}/${it.path}`;
        let text = content;
        if (!isSecret) {
          let s = content.toString('utf8');
          if (edits[containerPath]) {
            s = edits[containerPath]!(s);
            delete edits[containerPath];
          }
          text = Buffer.from(rewrite(s), 'utf8');
        }
        files[containerPath] = join(dir, it.path);
        return { path: it.path, content: text, mode: it.mode ?? defaultMode };
      });
      writeProjected(dir, out, fsGroup);
    } else {
      throw new Error(`${opts.workload}: volume ${v.name} has a type the runner does not handle`);
    }
  }
  const unused = Object.keys(edits);
  if (unused.length) throw new Error(`${opts.workload}: edits for files the pod does not mount: ${unused.join(', ')}`);

  // Environment: the image's PATH, what the kubelet always sets, then the container's env in order.
  const image = opts.images(container.image);
  const env: Record<string, string> = { PATH: `${image.binDir}:${BASE_PATH}`, HOSTNAME: opts.podName, HOME: '/' };
  const namespace = (opts.objects.find((o) => o.metadata.name === opts.workload)?.metadata.namespace ?? 'default') as string;
  for (const e of container.env ?? []) {
    if (e.valueFrom) {
      const { secretKeyRef: s, configMapKeyRef: c, fieldRef: f } = e.valueFrom;
      if (s) env[e.name] = dataOf(opts.objects, 'Secret', s.name)[s.key]?.toString('utf8') ?? failRef(e.name, 'Secret', s.name, s.key);
      else if (c) env[e.name] = dataOf(opts.objects, 'ConfigMap', c.name)[c.key]?.toString('utf8') ?? failRef(e.name, 'ConfigMap', c.name, c.key);
      else if (f) env[e.name] = fieldValue(f.fieldPath, { podName: opts.podName, namespace, hostIP: opts.hostIP, hostNetwork: !!pod.hostNetwork });
      else throw new Error(`env ${e.name}: unsupported valueFrom`);
    } else {
      env[e.name] = rewrite(expandK8s(e.value ?? '', env));
    }
  }
  for (const [k, v] of Object.entries(opts.envOverride ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  const cmd = container.command ? container.command.map((s) => expandK8s(s, env)) : (image.entrypoint ?? []);
  const args = (container.args ?? []).map((s) => expandK8s(s, env));
  // Programs named by their absolute path in the image (a start script's `exec /livekit-server`).
  const programs = (t: string) => Object.entries(image.programs ?? {}).reduce((acc, [from, to]) => acc.split(from + ' ').join(to + ' '), t);
  const argv = [...cmd, ...args].map(rewrite).map(programs);
  if (!argv.length) throw new Error(`${opts.workload}: no command and the image binding has no entrypoint`);
  const readOnlyRoot = container.securityContext?.readOnlyRootFilesystem ? { writable } : undefined;
  return { podName: opts.podName, argv, env, user, cwd: root, root, files, ...(readOnlyRoot ? { readOnlyRoot } : {}), container, pod };
}

function failRef(env: string, kind: string, name: string, key: string): never {
  throw new Error(`env ${env}: key ${key} not in ${kind} ${name}`);
}

function fieldValue(path: string, p: { podName: string; namespace: string; hostIP: string; hostNetwork: boolean }): string {
  switch (path) {
    case 'status.hostIP':
      return p.hostIP;
    case 'status.podIP':
      if (!p.hostNetwork) throw new Error('status.podIP of a pod network pod is not modelled by the runner');
      return p.hostIP;
    case 'metadata.name':
      return p.podName;
    case 'metadata.namespace':
      return p.namespace;
    case 'spec.nodeName':
      return 'node-0';
    default:
      throw new Error(`fieldRef ${path} is not modelled by the runner`);
  }
}

/** Local binaries standing for the images, by the image's repository name. */
export interface LocalBinaries {
  livekitServer: string;
  turnserver: string;
  redisServer: string;
}

/**
 * livekit-server (ENTRYPOINT /livekit-server, also what start scripts exec) -> the livekit-server built from the Go module
 * proxy; coturn/coturn -> Debian's turnserver; redis -> Debian's redis-server. Each image gets its
 * own bin directory in dir (the livekit binary is hard-linked there: the build cache is under
 * root's home, which the pod users cannot traverse).
 */
export function localImages(dir: string, bins: LocalBinaries): ImageResolver {
  const make = (name: string, files: Record<string, string>, entrypoint?: string) => {
    const binDir = join(dir, 'images', name, 'bin');
    if (!existsSync(binDir)) {
      mkdirSync(binDir, { recursive: true, mode: 0o755 });
      for (const [file, target] of Object.entries(files)) {
        const dest = join(binDir, file);
        if (target.startsWith('/usr/')) symlinkSync(target, dest);
        else {
          try {
            linkSync(target, dest);
          } catch {
            copyFileSync(target, dest);
          }
          chmodSync(dest, 0o755);
        }
      }
    }
    return { binDir, ...(entrypoint ? { entrypoint: [join(binDir, entrypoint)], programs: { [`/${entrypoint}`]: join(binDir, entrypoint) } } : {}) };
  };
  return (image: string) => {
    const repo = image.split('/').pop()!.replace(/[:@].*$/, '');
    switch (repo) {
      case 'livekit-server':
        return make('livekit-server', { 'livekit-server': bins.livekitServer }, 'livekit-server');
      case 'coturn':
        return make('coturn', { turnserver: bins.turnserver });
      case 'redis':
        return make('redis', { 'redis-server': bins.redisServer });
      default:
        throw new Error(`no local binary stands for image ${image}`);
    }
  };
}
