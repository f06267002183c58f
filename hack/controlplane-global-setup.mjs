// vitest globalSetup: a real local Kubernetes control plane for the integration tests.
//
//   // vitest.config.ts
//   test: { globalSetup: ['hack/controlplane-global-setup.mjs'] }
//   // in a test
//   import { inject } from 'vitest';
//   const kubeconfig = inject('kubeconfig'); const auditLog = inject('auditLog');
//   // types: declare module 'vitest' { interface ProvidedContext { kubeconfig: string; auditLog: string; apiserverUrl: string } }
//
// A project with env REAL_NODE=1 (vitest.config.ts `test.env`, or the process env) gets a real node too:
// the control plane starts with REAL_NODE=1, then hack/build-node.sh, the images (hack/images.mk) and
// hack/node-up.sh; tests read inject('realNode') ({name, ip, containerdSock, nodeBinDir}). Teardown
// stops the node first (hack/node-down.sh, through controlplane-down.sh) and fails the run when the
// host is not as it was before.
// If KUBECONFIG_TEST is set, that control plane is used as is (AUDIT_LOG_TEST may point at its audit log;
// default: audit.log next to the kubeconfig, as written by hack/controlplane-up.sh) and nothing is started.
// Otherwise: hack/build-k8s.sh (instant when cached), then hack/controlplane-up.sh in a fresh mkdtemp dir;
// teardown runs hack/controlplane-down.sh --clean (CONTROLPLANE_KEEP=1 keeps the dir and its logs).
// No leaks: exit/SIGINT/SIGTERM/SIGHUP handlers stop the process groups synchronously, and a watchdog
// started by controlplane-up.sh --watch-pid stops them if this process is killed with SIGKILL.
// Plain ESM, node builtins only.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HACK = dirname(fileURLToPath(import.meta.url));
const STATE_KEY = Symbol.for('meet-operator.controlplane-global-setup');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** @type {{ dir?: string, refs: number, handlers?: Array<[string, (...a: any[]) => void]>, stopped?: boolean, provided?: Record<string, string> }} */
const state = (globalThis[STATE_KEY] ??= { refs: 0 });

function runScript(script, args, env = {}) {
  return runCommand('bash', [join(HACK, script), ...args], `hack/${script} ${args.join(' ')}`, env);
}

/** A target of the top-level Makefile (e.g. images), with the same Node on PATH as the tests. */
function runMake(target) {
  return runCommand('make', ['--no-print-directory', '-C', join(HACK, '..'), target], `make ${target}`);
}

function runCommand(cmd, args, what, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...env },
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (${signal ?? `exit ${code}`}); see its output above`));
    });
  });
}

/** Parses the shell-sourceable STATE_DIR/env written by controlplane-up.sh (KEY='value' lines). */
function readEnvFile(path) {
  const env = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** Synchronous stop, usable from 'exit' and signal handlers. */
function stopSync(clean) {
  if (!state.dir || state.stopped) return;
  state.stopped = true;
  const args = [join(HACK, 'controlplane-down.sh'), ...(clean ? ['--clean'] : []), state.dir];
  const r = spawnSync('bash', args, { stdio: 'ignore', env: { ...process.env, DOWN_GRACE: '2' }, timeout: 20_000 });
  if (r.status === 0) return;
  // Fallback: SIGKILL every recorded process group.
  try {
    for (const line of readFileSync(join(state.dir, 'pids'), 'utf8').split('\n')) {
      const pgid = Number(line.split(' ')[1]);
      if (pgid > 1) {
        try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
  } catch { /* no pids file */ }
}

function installHandlers() {
  if (state.handlers) return;
  const keep = process.env.CONTROLPLANE_KEEP === '1';
  const onExit = () => stopSync(!keep);
  state.handlers = [['exit', onExit]];
  process.on('exit', onExit);
  for (const sig of SIGNALS) {
    const onSignal = () => {
      stopSync(!keep);
      // Let other handlers (vitest's own) run; if we are the only one, keep the default behaviour.
      if (process.listenerCount(sig) === 1) {
        removeHandlers();
        process.kill(process.pid, sig);
      }
    };
    state.handlers.push([sig, onSignal]);
    process.on(sig, onSignal);
  }
}

function removeHandlers() {
  for (const [ev, fn] of state.handlers ?? []) process.off(ev, fn);
  state.handlers = undefined;
}

function provideAll(project, values) {
  for (const [k, v] of Object.entries(values)) project.provide(k, v);
}

export async function setup(project) {
  state.refs += 1;
  if (state.provided) {
    // Several vitest projects share the same control plane.
    provideAll(project, state.provided);
    return;
  }

  const existing = process.env.KUBECONFIG_TEST;
  if (existing) {
    if (!existsSync(existing)) throw new Error(`KUBECONFIG_TEST=${existing} does not exist`);
    const auditLog = process.env.AUDIT_LOG_TEST ?? join(dirname(existing), 'audit.log');
    state.provided = { kubeconfig: existing, auditLog: existsSync(auditLog) ? auditLog : '', apiserverUrl: '' };
    provideAll(project, state.provided);
    return;
  }

  const realNode = (project.config?.env?.REAL_NODE ?? process.env.REAL_NODE) === '1';
  await runScript('build-k8s.sh', []);
  if (realNode) {
    // Before the control plane starts: these builds take minutes when the cache is cold.
    await runScript('build-node.sh', []);
    await runMake('images');
  }
  state.dir = mkdtempSync(join(process.env.CONTROLPLANE_TMPDIR ?? tmpdir(), 'meet-operator-cp-'));
  state.stopped = false;
  installHandlers();
  try {
    const keep = process.env.CONTROLPLANE_KEEP === '1';
    await runScript('controlplane-up.sh', ['--watch-pid', String(process.pid), ...(keep ? [] : ['--watch-clean']), state.dir], realNode ? { REAL_NODE: '1' } : {});
    if (realNode) await runScript('node-up.sh', [state.dir]);
  } catch (err) {
    stopSync(false); // up.sh already tore down on failure; keep the logs for the error message
    removeHandlers();
    throw new Error(`${err.message}\ncontrol plane logs: ${join(state.dir, 'logs')}`);
  }
  const env = readEnvFile(join(state.dir, 'env'));
  state.provided = { kubeconfig: env.KUBECONFIG, auditLog: env.AUDIT_LOG, apiserverUrl: env.APISERVER_URL };
  if (realNode) {
    const node = readEnvFile(join(state.dir, 'node', 'env'));
    state.provided.realNode = JSON.stringify({ name: node.NODE_NAME, ip: node.NODE_IP, containerdSock: node.CONTAINERD_SOCK, nodeBinDir: node.NODE_BIN_DIR, stateDir: state.dir });
  }
  process.env.KUBECONFIG_TEST = env.KUBECONFIG;
  process.env.AUDIT_LOG_TEST = env.AUDIT_LOG;
  provideAll(project, state.provided);
}

export async function teardown() {
  state.refs -= 1;
  if (state.refs > 0 || !state.dir || state.stopped) return;
  const keep = process.env.CONTROLPLANE_KEEP === '1';
  try {
    await runScript('controlplane-down.sh', [...(keep ? [] : ['--clean']), state.dir]);
    state.stopped = true;
    if (keep) console.error(`[controlplane] kept ${state.dir} (CONTROLPLANE_KEEP=1)`);
  } finally {
    stopSync(!keep); // no-op when already stopped
    removeHandlers();
    if (process.env.KUBECONFIG_TEST === state.provided?.kubeconfig) {
      delete process.env.KUBECONFIG_TEST;
      delete process.env.AUDIT_LOG_TEST;
    }
    state.provided = undefined;
    state.dir = undefined;
  }
}
