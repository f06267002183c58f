#!/usr/bin/env node
// images/build.mjs: builds the OCI images described by images/<name>/image.yaml, from source and Debian
// packages, without a container daemon or registry (umoci, skopeo, GNU tar, dpkg-deb, apt-get download).
// Plain ESM: node builtins + the `yaml` package (a dependency of the operator). See images/README.md.
//
//   node images/build.mjs [NAME...]                       build (all images by default); unchanged ones are skipped
//   node images/build.mjs --force NAME...                 rebuild even when the inputs did not change
//   node images/build.mjs --verify-reproducible [NAME...] build each image twice in fresh temp dirs, fail unless
//                                                         every digest (manifest, config, layer, archive) matches
//   node images/build.mjs --lock [NAME...]                re-resolve images/debian.lock from apt's current candidates
//   --no-check                                            skip the checks run inside the unpacked image
//
// Output: ${IMAGES_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/meet-operator/images}/<name>-<tag>.oci.tar (OCI
// archive, image reference localhost/meet-operator/<name>:<tag>), <name>.json (key and result per image)
// and images.json (all images). Env: SOURCE_DATE_EPOCH (default 0: every timestamp in the images).
//
// Everything that is the same for all images lives here, once: variables and the cache key, the Debian
// packages (lock, download, sha256, unpacking, which package each file came from), /etc/passwd and
// /etc/group, owners and modes, the layer (a deterministic tar), the image config (umoci), the export
// (skopeo + a deterministic tar), the checks. A recipe is image.yaml (what the image is) and rootfs.sh
// (which files go in it), with the helpers of images/lib.sh.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync,
  renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const IMAGES = join(REPO, 'images');
const LOCK_FILE = join(IMAGES, 'debian.lock');
const CACHE = process.env.IMAGES_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'meet-operator', 'images');
const DEBS = join(CACHE, 'debs');
const EPOCH = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
const CREATED = new Date(EPOCH * 1000).toISOString().replace(/\.000Z$/, 'Z');
const REGISTRY = 'localhost/meet-operator';
const ARCH = 'amd64';
const MULTIARCH = 'x86_64-linux-gnu';
const RECIPE_FORMAT = 1; // bump when the way images are put together changes (invalidates every cache key)
const IS_ROOT = process.getuid?.() === 0;
// The layer tar: POSIX format, names in byte order (we pass them sorted, one invocation per run of equal
// owners), numeric owners, one mtime, pax headers without atime/ctime and without the pid-based
// default header name, only the file-capability xattr.
const TAR_FLAGS = [
  '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', `--mtime=@${EPOCH}`,
  '--numeric-owner', '--no-recursion', '--null', '--xattrs', '--xattrs-include=security.capability',
];

if (!Number.isInteger(EPOCH) || EPOCH < 0) die(`SOURCE_DATE_EPOCH must be a non-negative integer, got ${process.env.SOURCE_DATE_EPOCH}`);

// --- small helpers ---------------------------------------------------------------------------------

function log(...a) {
  process.stderr.write(`[images ${new Date().toTimeString().slice(0, 8)}] ${a.join(' ')}\n`);
}
function die(msg) {
  const e = new Error(msg);
  e.clean = true;
  throw e;
}
/** Runs a program; throws with its stderr on failure. opts.input, opts.cwd, opts.env, opts.inherit (stderr to ours). */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? REPO,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: opts.encoding === null ? null : 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['pipe', opts.stdoutToStderr ? 2 : 'pipe', opts.inherit ? 'inherit' : 'pipe'],
    timeout: opts.timeout,
  });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    die(`${[cmd, ...args].join(' ')} failed (exit ${r.status ?? r.signal})${r.stderr ? `:\n${String(r.stderr).trimEnd()}` : ''}`);
  }
  return opts.allowFail ? r : r.stdout;
}
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
function sha256File(path) {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
/** Every entry under dir (relative paths, directories included), in byte order. */
function walk(dir, rel = '', out = []) {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => byteOrder(a.name, b.name))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) walk(dir, p, out);
  }
  return out;
}
const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
function rmrf(p) {
  rmSync(p, { recursive: true, force: true });
}
/** Upstream part of a Debian version: no epoch, no Debian revision (5:7.0.15-1~deb12u10 -> 7.0.15). */
const upstreamVersion = (v) => v.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
const debFileName = (e) => `${e.package}_${e.version.replace(/:/g, '%3a')}_${e.arch}.deb`;

// --- recipes ---------------------------------------------------------------------------------------

const RECIPE_KEYS = new Set([
  'name', 'tag', 'description', 'vars', 'debs', 'inputs', 'user', 'users', 'workdir', 'entrypoint', 'cmd', 'env', 'ports',
  'volumes', 'stopSignal', 'paths', 'labels', 'checks',
]);

function recipeNames() {
  return readdirSync(IMAGES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(IMAGES, e.name, 'image.yaml')))
    .map((e) => e.name)
    .sort();
}

function loadRecipe(name) {
  const file = join(IMAGES, name, 'image.yaml');
  if (!existsSync(file)) die(`no recipe images/${name}/image.yaml (recipes: ${recipeNames().join(', ')})`);
  const r = parseYaml(readFileSync(file, 'utf8'));
  const where = `images/${name}/image.yaml`;
  for (const k of Object.keys(r)) if (!RECIPE_KEYS.has(k)) die(`${where}: unknown key '${k}'`);
  if (r.name !== name) die(`${where}: name must be '${name}' (the directory), got '${r.name}'`);
  if (!r.tag) die(`${where}: tag is required`);
  if (!existsSync(join(IMAGES, name, 'rootfs.sh'))) die(`images/${name}/rootfs.sh is missing`);
  for (const k of ['entrypoint', 'cmd', 'debs', 'inputs', 'ports', 'volumes', 'users', 'paths', 'checks']) {
    if (r[k] !== undefined && !Array.isArray(r[k])) die(`${where}: ${k} must be a list`);
  }
  if (r.user !== undefined && !/^\d+(:\d+)?$/.test(String(r.user))) die(`${where}: user must be numeric uid[:gid] (runAsNonRoot can check it), got '${r.user}'`);
  return { ...r, dir: join(IMAGES, name), file: where };
}

/** ${NAME} -> vars[NAME] in every string of value ($$ is a literal $). */
function interpolate(value, vars, where) {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, v) => {
      if (m === '$$') return '$';
      if (!(v in vars)) die(`${where}: \${${v}} is not defined (vars: ${Object.keys(vars).join(', ')})`);
      return vars[v];
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, vars, where));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, vars, where)]));
  return value;
}

/**
 * Evaluates `vars:` in order: a string (may use earlier vars), {run: shell, env: {...}} (its last line of
 * output; stderr goes to ours, so a build it starts shows its progress), or {deb: package} (the upstream
 * version of the image's locked package). Then interpolates the whole recipe with them (+ name, tag).
 */
function resolveRecipe(r, debVersions) {
  const vars = {};
  for (const [k, spec] of Object.entries(r.vars ?? {})) {
    const where = `${r.file} vars.${k}`;
    if (typeof spec === 'string' || typeof spec === 'number') vars[k] = interpolate(String(spec), vars, where);
    else if (spec?.deb) {
      const v = debVersions.get(spec.deb);
      if (!v) die(`${where}: ${spec.deb} is not one of this image's Debian packages (images/debian.lock); run 'make images-lock'`);
      vars[k] = upstreamVersion(v);
    } else if (spec?.run) {
      const env = { ...process.env, ...vars, ...interpolate(spec.env ?? {}, vars, where) };
      const out = run('bash', ['-c', `set -euo pipefail\n${interpolate(spec.run, vars, where)}`], { env, inherit: true });
      const lines = out.trim().split('\n');
      vars[k] = lines[lines.length - 1]?.trim() ?? '';
      if (!vars[k]) die(`${where}: the command printed nothing`);
    } else die(`${where}: a var is a string, {run: ..., env: ...} or {deb: package}`);
  }
  const tag = interpolate(String(r.tag), vars, `${r.file} tag`);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) die(`${r.file}: '${tag}' is not a valid image tag`);
  const all = { ...vars, name: r.name, tag };
  const x = (k) => interpolate(r[k], all, `${r.file} ${k}`);
  return {
    ...r, vars, tag, ref: `${REGISTRY}/${r.name}:${tag}`,
    entrypoint: x('entrypoint') ?? [], cmd: x('cmd') ?? [], env: x('env') ?? {}, labels: x('labels') ?? {},
    workdir: x('workdir') ?? '/', ports: x('ports') ?? [], volumes: x('volumes') ?? [], inputs: x('inputs') ?? [],
    checks: x('checks') ?? [], paths: x('paths') ?? [], users: x('users') ?? [], debs: r.debs ?? [],
  };
}

// --- Debian packages -------------------------------------------------------------------------------

const LOCK_HEADER = `# images/debian.lock: the Debian packages whose files are in the images, one line per image and package.
# Written by \`make images-lock\` (node images/build.mjs --lock) from apt's candidates; do not edit by hand.
# A package is here when the image holds at least one of its files (rootfs.sh copies files, not packages).
# columns: image, package, version, architecture, sha256 of the .deb, size
`;

function readLock() {
  if (!existsSync(LOCK_FILE)) return [];
  return readFileSync(LOCK_FILE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [image, pkg, version, arch, sha, size] = l.trim().split(/\s+/);
      if (!sha || !/^[0-9a-f]{64}$/.test(sha)) die(`images/debian.lock: malformed line '${l}'`);
      return { image, package: pkg, version, arch, sha256: sha, size: Number(size) };
    });
}

function writeLock(entries) {
  entries.sort((a, b) => byteOrder(a.image, b.image) || byteOrder(a.package, b.package));
  const rows = entries.map((e) => [e.image, e.package, e.version, e.arch, e.sha256, String(e.size)]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(0, ...rows.map((r) => r[i].length)));
  const text = rows.map((r) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join('  ')).join('\n');
  writeFileSync(LOCK_FILE, `${LOCK_HEADER}${text}\n`);
}

/** The control fields (Version, Architecture, SHA256, Size) apt has for each `package` or `package=version`. */
function aptShow(specs) {
  const out = run('apt-cache', ['show', '--no-all-versions', ...specs], { allowFail: true }).stdout;
  const found = new Map();
  for (const stanza of out.split(/\n\n+/)) {
    const f = Object.fromEntries([...stanza.matchAll(/^([A-Za-z0-9-]+): (.*)$/gm)].map((m) => [m[1], m[2]]));
    if (f.Package && f.Version && f.SHA256 && !found.has(f.Package)) {
      found.set(f.Package, { package: f.Package, version: f.Version, arch: f.Architecture, sha256: f.SHA256, size: Number(f.Size) });
    }
  }
  return found;
}

/**
 * The packages apt would install for `names` on an empty system (its own resolver: first alternatives,
 * the real package rather than another provider, Pre-Depends; no Recommends), at the candidate versions.
 */
function aptClosure(names) {
  mkdirSync(DEBS, { recursive: true });
  const status = join(DEBS, '.empty-dpkg-status');
  writeFileSync(status, '');
  const out = run('apt-get', ['-s', '-q', '-o', `Dir::State::status=${status}`, '-o', 'Debug::NoLocking=1', 'install', '--no-install-recommends', ...names]);
  const inst = [...out.matchAll(/^Inst (\S+) \((\S+) .*?\[([a-z0-9]+)\]\)/gm)].map((m) => ({ package: m[1], version: m[2], arch: m[3] }));
  for (const n of names) if (!inst.some((e) => e.package === n)) die(`apt would not install '${n}' (unknown package? run apt-get update)`);
  const meta = aptShow(inst.map((e) => `${e.package}=${e.version}`));
  return inst.map((e) => {
    const m = meta.get(e.package);
    if (!m || m.version !== e.version) die(`apt-cache show ${e.package}=${e.version} gave nothing`);
    return m;
  });
}

/**
 * The .debs of lock entries in the download cache (package -> file), the missing ones fetched with one
 * `apt-get download pkg=version...` and every one checked against the lock's sha256.
 */
function fetchDebs(entries, image) {
  mkdirSync(DEBS, { recursive: true });
  const files = new Map();
  const missing = [];
  for (const e of entries) {
    const file = join(DEBS, debFileName(e));
    if (existsSync(file) && sha256File(file) === e.sha256) files.set(e.package, file);
    else missing.push(e);
  }
  if (!missing.length) return files;
  log(`${image}: downloading ${missing.length} Debian packages (apt-get download)`);
  const tmp = mkdtempSync(join(DEBS, '.download-'));
  try {
    const specs = missing.map((e) => `${e.package}=${e.version}`);
    const r = run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...specs], { cwd: tmp, allowFail: true });
    if (r.status !== 0) {
      const known = aptShow(specs);
      const gone = missing.filter((e) => known.get(e.package)?.version !== e.version);
      if (!gone.length) die(`apt-get download ${specs.join(' ')} failed:\n${String(r.stderr).trim()}`);
      const now = aptShow(gone.map((e) => e.package));
      die(
        `images/debian.lock pins, for image ${image}, versions apt cannot download any more:\n` +
          gone.map((e) => `  ${e.package} ${e.version} (apt's candidate now: ${now.get(e.package)?.version ?? 'none'})\n`).join('') +
          `  apt-get said: ${String(r.stderr).trim().split('\n').join('\n  ')}\n` +
          `Debian replaced them (a point release or a security update does that).\n` +
          `Refresh the lock: 'make images-lock' (node images/build.mjs --lock), review the diff of images/debian.lock, rebuild.\n` +
          `(No package lists at all? run 'apt-get update' first. To rebuild the old image bit for bit instead, add an apt\n` +
          `source on snapshot.debian.org at the date of the lock: it keeps every version Debian ever shipped.)`,
      );
    }
    for (const e of missing) {
      const got = join(tmp, debFileName(e));
      if (!existsSync(got)) die(`apt-get download ${e.package}=${e.version} left no ${debFileName(e)} (${readdirSync(tmp).join(', ')})`);
      const sum = sha256File(got);
      if (sum !== e.sha256) die(`${debFileName(e)}: sha256 ${sum}, but images/debian.lock says ${e.sha256}: the archive changed a published version, or the lock was edited`);
      const file = join(DEBS, debFileName(e));
      renameSync(got, file);
      files.set(e.package, file);
    }
    return files;
  } finally {
    rmrf(tmp);
  }
}

/** The paths (absolute, no directories) of a .deb's files, cached next to it. */
function debPaths(file) {
  const list = `${file}.paths`;
  if (!existsSync(list)) {
    const names = run('bash', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -t --quoting-style=literal', '_', file]);
    writeFileSync(`${list}.tmp`, names);
    renameSync(`${list}.tmp`, list);
  }
  return readFileSync(list, 'utf8').split('\n').filter((p) => p && !p.endsWith('/')).map((p) => p.replace(/^\.\//, '/'));
}

/** Unpacks the packages into sysroot (in name order) and returns path -> package (the one whose file is there). */
function unpackDebs(entries, files, sysroot) {
  const owner = new Map();
  mkdirSync(join(sysroot, '.debs'), { recursive: true });
  for (const e of [...entries].sort((a, b) => byteOrder(a.package, b.package))) {
    const f = files.get(e.package);
    run('dpkg-deb', ['-x', f, sysroot]);
    writeFileSync(join(sysroot, '.debs', e.package), `${e.version}\n`);
    for (const p of debPaths(f)) owner.set(p, e.package);
  }
  return owner;
}

/** The packages whose files are in rootfs, verbatim (same content, or same link target), + the recipe's deb_used. */
function packagesUsed(rootfs, sysroot, owner, work) {
  const used = new Set();
  for (const rel of walk(rootfs)) {
    const p = `/${rel}`;
    const pkg = owner.get(p);
    if (!pkg || used.has(pkg)) continue;
    const a = lstatSync(join(rootfs, rel));
    const b = lstatSync(join(sysroot, rel), { throwIfNoEntry: false });
    if (!b) continue;
    if (a.isSymbolicLink() && b.isSymbolicLink() && readlinkSync(join(rootfs, rel)) === readlinkSync(join(sysroot, rel))) used.add(pkg);
    else if (a.isFile() && b.isFile() && a.size === b.size && readFileSync(join(rootfs, rel)).equals(readFileSync(join(sysroot, rel)))) used.add(pkg);
  }
  const explicit = join(work, '.deb-used');
  if (existsSync(explicit)) for (const p of readFileSync(explicit, 'utf8').split('\n').filter(Boolean)) used.add(p);
  return used;
}

/**
 * What the image says about its Debian packages, as distroless images do: the control data of each one in
 * /var/lib/dpkg/status.d/<package> (vulnerability scanners read it) and its copyright file.
 */
function recordPackages(rootfs, sysroot, used, files) {
  for (const pkg of [...used].sort()) {
    const control = run('dpkg-deb', ['-f', files.get(pkg)]).trimEnd().split('\n');
    control.splice(1, 0, 'Status: install ok installed');
    mkdirSync(join(rootfs, 'var/lib/dpkg/status.d'), { recursive: true });
    writeFileSync(join(rootfs, 'var/lib/dpkg/status.d', pkg), `${control.join('\n')}\n`);
    const copyright = join(sysroot, 'usr/share/doc', pkg, 'copyright');
    if (existsSync(copyright) && !existsSync(join(rootfs, 'usr/share/doc', pkg, 'copyright'))) {
      mkdirSync(join(rootfs, 'usr/share/doc', pkg), { recursive: true });
      writeFileSync(join(rootfs, 'usr/share/doc', pkg, 'copyright'), readFileSync(copyright));
    }
  }
}

// --- the root filesystem ---------------------------------------------------------------------------

/** /etc/passwd and /etc/group from `users:` (root first). */
function writeUsers(rootfs, users) {
  if (!users.length) return;
  for (const f of ['etc/passwd', 'etc/group']) if (existsSync(join(rootfs, f))) die(`rootfs.sh wrote /${f}: declare users in image.yaml instead`);
  const all = [{ name: 'root', uid: 0, gid: 0, home: '/root' }, ...users].map((u) => ({
    shell: '/usr/sbin/nologin', home: '/nonexistent', group: u.name, ...u, uid: Number(u.uid), gid: Number(u.gid),
  }));
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/passwd'), all.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:${u.shell}\n`).join(''));
  const groups = new Map(all.map((u) => [u.gid, u.group]));
  writeFileSync(join(rootfs, 'etc/group'), [...groups].map(([gid, name]) => `${name}:x:${gid}:\n`).join(''));
}

/**
 * `paths:` entries: {path, mode?, owner?, caps?}. Creates missing directories, sets the mode and file
 * capabilities (setcap, so needs root), and returns path -> "uid:gid" for the layer.
 */
function applyPaths(rootfs, paths, file) {
  const owners = new Map();
  for (const p of paths) {
    if (!p.path?.startsWith('/')) die(`${file}: paths entries need an absolute path`);
    const abs = join(rootfs, p.path);
    if (!existsSync(abs)) mkdirSync(abs, { recursive: true, mode: 0o755 });
    if (p.mode) run('chmod', [p.mode, abs]);
    if (p.caps) {
      if (!IS_ROOT) die(`${file}: ${p.path} needs file capabilities (${p.caps}): setting them needs root`);
      run('setcap', [p.caps, abs]);
    }
    const owner = String(p.owner ?? '0:0');
    if (!/^\d+:\d+$/.test(owner)) die(`${file}: owner of ${p.path} must be numeric uid:gid`);
    owners.set(p.path.replace(/^\/+|\/+$/g, ''), { owner, keepMode: Boolean(p.mode) });
  }
  return owners;
}

/**
 * A deterministic tar of dir: entries in byte order; consecutive entries with the same owner go in one
 * invocation (the first creates, the next ones append). Everything is root-owned and loses group/other
 * write bits unless `special` (paths:) says otherwise; mtimes are SOURCE_DATE_EPOCH.
 */
function deterministicTar(dir, out, special = new Map(), work) {
  const entries = walk(dir);
  const runs = [];
  for (const e of entries) {
    const s = special.get(e);
    const sig = s ? `${s.owner}:${s.keepMode ? 'keep' : 'norm'}` : '0:0:norm';
    if (!runs.length || runs[runs.length - 1].sig !== sig) runs.push({ sig, names: [] });
    runs[runs.length - 1].names.push(e);
  }
  rmrf(out);
  runs.forEach((r, i) => {
    const [uid, gid, mode] = r.sig.split(':');
    const list = join(work, `.tar-list-${i}`);
    writeFileSync(list, r.names.map((n) => `${n}\0`).join(''));
    run('tar', [
      i === 0 ? '--create' : '--append', `--file=${out}`, `--directory=${dir}`, ...TAR_FLAGS,
      `--owner=${uid}`, `--group=${gid}`, ...(mode === 'norm' ? ['--mode=go-w'] : []), `--files-from=${list}`,
    ], { env: { ...process.env, LC_ALL: 'C' } });
    rmSync(list);
  });
  if (!runs.length) die(`${dir} is empty`);
  return entries.length;
}

// --- the cache key ---------------------------------------------------------------------------------

function hashPath(h, path, exclude) {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) die(`input ${path} does not exist`);
  if (st.isDirectory()) {
    for (const rel of walk(path)) {
      if (exclude && new RegExp(exclude).test(rel)) continue;
      const s = lstatSync(join(path, rel));
      if (s.isDirectory()) continue;
      h.update(`${rel}\0${s.mode & 0o111 ? 'x' : '-'}\0${s.isSymbolicLink() ? `->${readlinkSync(join(path, rel))}` : sha256File(join(path, rel))}\0`);
    }
  } else h.update(st.isSymbolicLink() ? `->${readlinkSync(path)}` : sha256File(path));
}

let toolVersions;
function tools() {
  toolVersions ??= {
    umoci: run('umoci', ['--version']).trim(),
    skopeo: run('skopeo', ['--version']).trim(),
    tar: run('tar', ['--version']).split('\n')[0],
  };
  return toolVersions;
}

function cacheKey(r, lockEntries) {
  const h = createHash('sha256');
  h.update(JSON.stringify({ format: RECIPE_FORMAT, epoch: EPOCH, tools: tools(), vars: r.vars, tag: r.tag, debs: lockEntries.map((e) => [e.package, e.version, e.sha256]) }));
  for (const f of ['images/build.mjs', 'images/lib.sh']) hashPath(h, join(REPO, f));
  hashPath(h, r.dir);
  for (const i of r.inputs) {
    const { path, exclude } = typeof i === 'string' ? { path: i } : i;
    h.update(`\0input ${path}\0`);
    hashPath(h, path.startsWith('/') ? path : join(REPO, path), exclude);
  }
  return h.digest('hex');
}

// --- one image -------------------------------------------------------------------------------------

function ociConfigArgs(r) {
  const a = ['--created', CREATED, '--no-history', '--os', 'linux', '--architecture', ARCH, `--config.workingdir=${r.workdir}`];
  if (r.user !== undefined) a.push(`--config.user=${r.user}`);
  for (const e of r.entrypoint) a.push(`--config.entrypoint=${e}`);
  for (const c of r.cmd) a.push(`--config.cmd=${c}`);
  for (const [k, v] of Object.entries(r.env)) a.push(`--config.env=${k}=${v}`);
  for (const p of r.ports) a.push(`--config.exposedports=${p}`);
  for (const v of r.volumes) a.push(`--config.volume=${v}`);
  for (const [k, v] of Object.entries(r.labels)) a.push(`--config.label=${k}=${v}`);
  if (r.stopSignal) a.push(`--config.stopsignal=${r.stopSignal}`);
  return a;
}

/** The config umoci wrote must say exactly what image.yaml says (guards against flag parsing surprises). */
function checkConfig(r, config) {
  const c = config.config ?? {};
  const want = {
    User: r.user === undefined ? undefined : String(r.user), WorkingDir: r.workdir,
    Entrypoint: r.entrypoint.length ? r.entrypoint : undefined, Cmd: r.cmd.length ? r.cmd : undefined,
    Env: Object.keys(r.env).length ? Object.entries(r.env).map(([k, v]) => `${k}=${v}`) : undefined,
    Labels: Object.keys(r.labels).length ? r.labels : undefined,
    ExposedPorts: r.ports.length ? Object.fromEntries(r.ports.map((p) => [p, {}])) : undefined,
    Volumes: r.volumes.length ? Object.fromEntries(r.volumes.map((p) => [p, {}])) : undefined,
  };
  for (const [k, v] of Object.entries(want)) {
    const got = c[k];
    const norm = (x) => JSON.stringify(x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x);
    if (norm(got) !== norm(v)) die(`image config ${k} is ${JSON.stringify(got)}, image.yaml says ${JSON.stringify(v)}`);
  }
  if (config.created !== CREATED) die(`image config created is ${config.created}, want ${CREATED}`);
}

const readBlob = (oci, digest) => readFileSync(join(oci, 'blobs', ...digest.split(':')));

function manifestOf(oci) {
  const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8'));
  if (index.manifests?.length !== 1) die(`${oci}: expected one manifest, found ${index.manifests?.length}`);
  const desc = index.manifests[0];
  const manifest = JSON.parse(readBlob(oci, desc.digest));
  return { desc, manifest, config: JSON.parse(readBlob(oci, manifest.config.digest)) };
}

/**
 * Builds one image into outDir. Returns the result record (also written to outDir/<name>.json), or the
 * previous one when the cache key did not change (unless force).
 */
function buildImage(name, { outDir, force = false, check = true, lock, lockMode = false }) {
  const started = Date.now();
  const raw = loadRecipe(name);
  let lockEntries = lock.filter((e) => e.image === name);
  let files;

  if (lockMode) {
    // The packages apt would install for the top-level ones, at its candidate versions: rootfs.sh then
    // picks files out of them, and the packages it picked from become this image's lock lines.
    if (raw.debs?.length) {
      lockEntries = aptClosure(raw.debs).map((e) => ({ ...e, image: name }));
      log(`${name}: ${raw.debs.join(' ')} and their dependencies: ${lockEntries.length} packages`);
    } else return { name, lockEntries: [] };
  } else {
    for (const d of raw.debs ?? []) {
      if (!lockEntries.some((e) => e.package === d)) die(`${raw.file} lists Debian package ${d}, images/debian.lock has no ${d} for ${name}: run 'make images-lock'`);
    }
  }
  const r = resolveRecipe(raw, new Map(lockEntries.map((e) => [e.package, e.version])));
  const key = cacheKey(r, lockMode ? [] : lockEntries);
  const archive = join(outDir, `${name}-${r.tag}.oci.tar`);
  const resultFile = join(outDir, `${name}.json`);
  if (!force && !lockMode && existsSync(resultFile) && existsSync(archive)) {
    const prev = JSON.parse(readFileSync(resultFile, 'utf8'));
    if (prev.key === key && prev.archive === archive && statSync(archive).size === prev.archiveBytes) {
      return { ...prev, cached: true, seconds: (Date.now() - started) / 1000 };
    }
  }

  mkdirSync(join(outDir, 'work'), { recursive: true });
  const work = mkdtempSync(join(outDir, 'work', `${name}-`));
  const rootfs = join(work, 'rootfs');
  const sysroot = join(work, 'sysroot');
  const scratch = join(work, 'scratch');
  const oci = join(work, 'oci');
  for (const d of [rootfs, sysroot, scratch]) mkdirSync(d, { recursive: true });
  let ok = false;
  let result;
  try {
    // 1. Debian packages: downloaded (cached, sha256-checked) and unpacked into the sysroot.
    files = fetchDebs(lockEntries, name);
    const owner = unpackDebs(lockEntries, files, sysroot);

    // 2. The recipe fills the root filesystem.
    log(`${name}: images/${name}/rootfs.sh${lockEntries.length ? ` (${lockEntries.length} Debian packages unpacked)` : ''}`);
    const env = {
      ...process.env, ...r.vars, ROOTFS: rootfs, SYSROOT: sysroot, WORK: scratch, REPO, IMAGE_DIR: r.dir, IMAGE_NAME: name,
      IMAGE_TAG: r.tag, IMAGES_LIB: join(IMAGES, 'lib.sh'), MULTIARCH, SOURCE_DATE_EPOCH: String(EPOCH),
    };
    const prevMask = process.umask(0o022);
    try {
      run('bash', [join(r.dir, 'rootfs.sh'), rootfs], { env, inherit: true, stdoutToStderr: true });
    } finally {
      process.umask(prevMask);
    }

    // 3. Which packages the image holds files of: exactly the locked ones.
    const used = packagesUsed(rootfs, sysroot, owner, scratch);
    if (lockMode) {
      for (const d of r.debs) if (!used.has(d)) die(`${r.file} lists ${d}, but rootfs.sh takes nothing from it: remove it from debs:`);
      const entries = lockEntries.filter((e) => used.has(e.package)).sort((a, b) => byteOrder(a.package, b.package));
      log(`${name}: ${entries.length} packages hold the image's files: ${entries.map((e) => e.package).join(' ')}`);
      ok = true;
      return { name, lockEntries: entries };
    }
    const stale = lockEntries.filter((e) => !used.has(e.package)).map((e) => e.package);
    if (stale.length) die(`images/debian.lock lists ${stale.join(', ')} for ${name}, but the image holds no file of ${stale.length > 1 ? 'them' : 'it'}: run 'make images-lock'`);
    recordPackages(rootfs, sysroot, used, files);

    // 4. Users, owners, modes; the layer.
    writeUsers(rootfs, r.users);
    const special = applyPaths(rootfs, r.paths, r.file);
    const layer = join(work, 'layer.tar');
    const count = deterministicTar(rootfs, layer, special, scratch);
    const layerBytes = statSync(layer).size;
    log(`${name}: layer ${count} entries, ${mib(layerBytes)} uncompressed`);

    // 5. The image: umoci (layer gzip-compressed by umoci; fixed creation times, no other history).
    run('umoci', ['init', '--layout', oci]);
    run('umoci', ['new', '--image', `${oci}:${r.tag}`]);
    run('umoci', [
      'raw', 'add-layer', '--image', `${oci}:${r.tag}`, '--history.created', CREATED,
      '--history.created_by', `images/build.mjs: images/${name}/rootfs.sh`, layer,
    ]);
    run('umoci', ['config', '--image', `${oci}:${r.tag}`, ...ociConfigArgs(r)]);
    run('umoci', ['gc', '--layout', oci]);
    rmrf(layer);
    const { desc, manifest, config } = manifestOf(oci);
    checkConfig(r, config);

    // 6. Export: skopeo names the image (index annotation org.opencontainers.image.ref.name = the full
    // reference, which containerd, podman and skopeo take as the image name); the archive is a
    // deterministic tar of that layout, so it is byte-for-byte reproducible too.
    const exportDir = join(work, 'export');
    run('skopeo', ['copy', '--quiet', `oci:${oci}:${r.tag}`, `oci:${exportDir}:${r.ref}`]);
    const exported = manifestOf(exportDir);
    if (exported.desc.digest !== desc.digest) die(`skopeo changed the manifest (${desc.digest} -> ${exported.desc.digest})`);
    deterministicTar(exportDir, `${archive}.tmp`, new Map(), scratch);
    renameSync(`${archive}.tmp`, archive);
    const inArchive = run('skopeo', ['inspect', '--raw', `oci-archive:${archive}:${r.ref}`]);
    if (`sha256:${sha256(inArchive)}` !== desc.digest) die(`${archive}: the manifest read back differs from the built one`);

    const checks = check ? runChecks(r, oci, work) : [];
    const size = desc.size + manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0);
    result = {
      name, ref: r.ref, tag: r.tag, digest: desc.digest, size, archive, archiveBytes: statSync(archive).size,
      archiveSha256: sha256File(archive), config: manifest.config.digest, layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })),
      uncompressed: layerBytes, debs: lockEntries.map((e) => `${e.package}=${e.version}`), key, tools: tools(), checks,
    };
    ok = true;
  } finally {
    if (ok || process.env.IMAGES_KEEP_WORK !== '1') rmrf(work);
    else log(`${name}: work dir kept (IMAGES_KEEP_WORK=1): ${work}`);
  }
  result.seconds = Math.round((Date.now() - started) / 100) / 10;
  writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/**
 * The recipe's checks, in the unpacked image as a runtime would run it: private mount, pid and network
 * namespaces (loopback only), the image's root read-only (readOnlyRootFilesystem) with a tmpfs on /tmp,
 * /proc and /dev mounted, the image's user (or the check's), env and working directory. A check is
 * {args, entrypoint?: true (prepend the entrypoint), expect?: regex on the output, status?: exit code
 * (default 0, null: any), runFor?: seconds (a server: SIGTERM after that long, then the output is checked),
 * user?, lines?: how many output lines to show}. Needs root.
 */
function runChecks(r, oci, work) {
  if (!r.checks.length) return [];
  if (!IS_ROOT) {
    log(`${r.name}: checks skipped (they need root: chroot and mounts)`);
    return [];
  }
  const root = join(work, 'unpacked');
  run('umoci', ['raw', 'unpack', '--image', `${oci}:${r.tag}`, root]);
  for (const d of ['proc', 'dev', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  const script = `set -e
R=$1 T=$2; shift 2
mount --bind "$R" "$R"; mount -o remount,bind,ro "$R"
mount -t tmpfs -o mode=1777,size=64m tmpfs "$R/tmp"; mount -t proc proc "$R/proc"; mount --rbind /dev "$R/dev"
ip link set lo up 2>/dev/null || true
[ "$T" != 0 ] || exec /usr/bin/env -i "$@"
set +e
/usr/bin/env -i "$@" & pid=$!
sleep "$T"; kill -TERM "$pid" 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
kill -KILL "$pid" 2>/dev/null
wait "$pid"`;
  const results = [];
  for (const c of r.checks) {
    const argv = [...(c.entrypoint ? r.entrypoint : []), ...(c.args ?? [])];
    const [uid, gid = uid] = String(c.user ?? r.user ?? '0:0').split(':');
    const envs = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
    const res = spawnSync('unshare', [
      '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--net', '--', 'bash', '-c', script, '_', root, String(c.runFor ?? 0),
      ...envs, '/usr/bin/unshare', `--root=${root}`, `--wd=${r.workdir}`, '--setgid', gid, '--setuid', uid, '--', ...argv,
    ], { encoding: 'utf8', timeout: 120_000 });
    const output = `${res.stdout}${res.stderr}`.trim();
    const status = res.status ?? res.signal;
    const want = c.status === undefined ? (c.runFor ? null : 0) : c.status;
    const shown = `${argv.join(' ')} (as ${uid}:${gid}, cwd ${r.workdir}${c.runFor ? `, SIGTERM after ${c.runFor} s` : ''})`;
    const badStatus = want !== null && status !== want;
    const badOutput = c.expect && !new RegExp(c.expect, 'm').test(output);
    if (badStatus || badOutput) {
      die(`${r.name}: check failed: ${shown}: ${badStatus ? `exit ${status}, want ${want}` : `exit ${status}`}${badOutput ? `; the output does not match /${c.expect}/` : ''}:\n${output}`);
    }
    let excerpt = output.split('\n').slice(0, c.lines ?? 3).join('\n');
    const matched = c.expect ? output.split('\n').find((l) => new RegExp(c.expect).test(l)) : undefined;
    if (matched && !excerpt.includes(matched)) excerpt += `\n...\n${matched}`;
    log(`${r.name}: check ok: ${shown} -> exit ${status}\n    ${excerpt.split('\n').join('\n    ')}`);
    results.push({ argv, user: `${uid}:${gid}`, status, output: excerpt });
  }
  return results;
}

// --- commands --------------------------------------------------------------------------------------

function writeIndex(outDir) {
  const all = recipeNames()
    .map((n) => join(outDir, `${n}.json`))
    .filter(existsSync)
    .map((f) => JSON.parse(readFileSync(f, 'utf8')))
    .map(({ name, ref, tag, digest, archive, size, archiveBytes, archiveSha256, uncompressed, debs, seconds }) => ({
      name, ref, tag, digest, archive, size, archiveBytes, archiveSha256, uncompressed, debs, buildSeconds: seconds,
    }));
  writeFileSync(join(outDir, 'images.json'), `${JSON.stringify(all, null, 2)}\n`);
}

function printRow(res, how) {
  console.log(`${res.ref.padEnd(48)} ${res.digest}  ${mib(res.size).padStart(10)}  ${how}`);
}

function withLock(fn) {
  mkdirSync(CACHE, { recursive: true });
  const lockDir = join(CACHE, '.build-lock');
  try {
    mkdirSync(lockDir);
  } catch {
    const pid = Number(readFileSync(join(lockDir, 'pid'), 'utf8').trim() || 0);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {}
    if (alive) die(`another images/build.mjs (pid ${pid}) is building in ${CACHE}; wait for it`);
    rmrf(lockDir);
    mkdirSync(lockDir);
  }
  writeFileSync(join(lockDir, 'pid'), `${process.pid}\n`);
  try {
    return fn();
  } finally {
    rmrf(lockDir);
  }
}

function cmdBuild(names, { force, check }) {
  const lock = readLock();
  rmrf(join(CACHE, 'work')); // left by an interrupted build (we hold the build lock: nobody else uses it)
  const results = [];
  for (const name of names) {
    log(`${name}: ...`);
    const res = buildImage(name, { outDir: CACHE, force, check, lock });
    results.push(res);
    log(`${name}: ${res.cached ? `up to date (${res.seconds.toFixed(1)} s)` : `built in ${res.seconds} s`}: ${res.archive}`);
  }
  writeIndex(CACHE);
  console.log(`${'image'.padEnd(48)} ${'manifest digest'.padEnd(71)}  ${'compressed'.padStart(10)}  build`);
  for (const r of results) printRow(r, r.cached ? `cached (${r.seconds.toFixed(1)} s)` : `${r.seconds} s`);
  console.log(`archives and images.json in ${CACHE}`);
}

function cmdVerify(names) {
  const lock = readLock();
  const base = mkdtempSync(join(tmpdir(), 'images-verify-'));
  let failed = 0;
  for (const name of names) {
    const runs = [];
    for (const [i, env] of [[1, {}], [2, { GOMAXPROCS: '1', TZ: 'Pacific/Kiritimati' }]]) {
      const outDir = join(base, `${name}-${i}`);
      mkdirSync(outDir, { recursive: true });
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        log(`${name}: reproducibility build ${i}/2 in ${outDir}${Object.keys(env).length ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}`);
        runs.push(buildImage(name, { outDir, force: true, check: false, lock }));
      } finally {
        for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
    const [a, b] = runs;
    const fields = [['manifest', a.digest, b.digest], ['config', a.config, b.config], ...a.layers.map((l, i) => [`layer ${i}`, l.digest, b.layers[i]?.digest]), ['archive', `sha256:${a.archiveSha256}`, `sha256:${b.archiveSha256}`]];
    const diff = fields.filter(([, x, y]) => x !== y);
    if (diff.length) {
      failed++;
      console.log(`NOT REPRODUCIBLE ${a.ref}: ${diff.map(([k, x, y]) => `${k} ${x} != ${y}`).join('; ')} (kept: ${base})`);
    } else {
      console.log(`reproducible ${a.ref.padEnd(48)} ${a.digest}  (config ${a.config.slice(0, 19)}..., archive sha256:${a.archiveSha256.slice(0, 12)}..., ${a.seconds} s + ${b.seconds} s)`);
      rmrf(join(base, `${name}-1`));
      rmrf(join(base, `${name}-2`));
    }
  }
  if (failed) die(`${failed} of ${names.length} images are not reproducible`);
  rmrf(base);
  console.log(`all ${names.length} images reproducible: two builds each, same manifest, config, layer and archive digests`);
}

function cmdLock(names) {
  run('apt-get', ['--version']);
  const lock = readLock();
  const tmpOut = mkdtempSync(join(tmpdir(), 'images-lock-'));
  try {
    let entries = lock.filter((e) => !names.includes(e.image));
    for (const name of names) {
      const res = buildImage(name, { outDir: tmpOut, force: true, check: false, lock, lockMode: true });
      const before = new Map(lock.filter((e) => e.image === name).map((e) => [e.package, e.version]));
      for (const e of res.lockEntries) {
        const old = before.get(e.package);
        if (old !== e.version) log(`${name}: ${e.package} ${old ?? '(new)'} -> ${e.version}`);
        before.delete(e.package);
      }
      for (const p of before.keys()) log(`${name}: ${p} no longer needed`);
      entries = entries.concat(res.lockEntries);
    }
    writeLock(entries);
    log(`wrote ${relative(REPO, LOCK_FILE)} (${entries.length} lines)`);
  } finally {
    rmrf(tmpOut);
  }
}

function main(argv) {
  const opts = { force: false, check: true, verify: false, lock: false };
  const names = [];
  for (const a of argv) {
    if (a === '--force') opts.force = true;
    else if (a === '--no-check') opts.check = false;
    else if (a === '--verify-reproducible') opts.verify = true;
    else if (a === '--lock') opts.lock = true;
    else if (a === '-h' || a === '--help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 16).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      return;
    } else if (a.startsWith('-')) die(`unknown option ${a} (see --help)`);
    else names.push(a);
  }
  const all = recipeNames();
  for (const n of names) if (!all.includes(n)) die(`no recipe images/${n}/image.yaml (recipes: ${all.join(', ')})`);
  const chosen = names.length ? names : all;
  withLock(() => (opts.lock ? cmdLock(chosen) : opts.verify ? cmdVerify(chosen) : cmdBuild(chosen, opts)));
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`images/build.mjs: ERROR: ${e.clean ? e.message : e.stack}\n`);
  process.exit(1);
}
