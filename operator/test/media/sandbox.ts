// A private network + mount namespace for the media tests. Every server and client process of a
// test runs inside it, so the only network there is a loopback interface: nothing a process does
// (a STUN lookup of a Google host, a relay to a private peer) can leave the machine, whatever the
// configuration says. In the mount namespace /etc/hosts and /etc/resolv.conf are replaced: the
// names the rendered configuration uses (turn.<domain>, <name>-redis.<ns>.svc.cluster.local)
// resolve to loopback addresses, and every other DNS query goes to a recorder on 127.0.0.1:53
// (see probe.ts `dns`), so a test can prove which names were looked up.
//
// Processes are started through nsenter + setpriv: own process group, the pod's uid/gid/groups,
// parent-death signal SIGKILL (a crashed test run leaves nothing behind), environment given in
// full (nothing leaks from the test process). close() kills every process group it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NSENTER = '/usr/bin/nsenter';
const SETPRIV = '/usr/bin/setpriv';
const UNSHARE = '/usr/bin/unshare';
export const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunAs {
  uid: number;
  gid: number;
  groups: number[];
}

export interface SpawnOptions {
  /** Label, also the log file name (logs/<name>.log). */
  name: string;
  argv: string[];
  /** The complete environment of the process (nothing is inherited). */
  env?: Record<string, string>;
  cwd?: string;
  /** Default: root. */
  user?: RunAs;
  /**
   * readOnlyRootFilesystem: the process gets its own mount namespace whose / is re-mounted
   * read-only (a per-mount flag: the machine's / is untouched); only these directories (the
   * pod's writable volumes) stay writable.
   */
  readOnlyRoot?: { writable: string[] };
}

/** Every live process group started by any sandbox of this worker: killed on exit, whatever happens. */
const LIVE = new Set<number>();
let exitHook = false;
function registerExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  const killAll = () => {
    for (const pgid of LIVE) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', killAll);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

export class Proc {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus?: { code: number | null; signal: NodeJS.Signals | null };

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    const pid = child.pid!;
    LIVE.add(pid);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        LIVE.delete(pid);
        this.exitStatus = { code, signal };
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  tail(lines = 40): string {
    return this.log().split('\n').slice(-lines).join('\n');
  }

  /** Waits until the log matches; fails early (with the log tail) when the process exits. */
  async waitForLog(pattern: RegExp, timeoutMs: number, what = String(pattern)): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.log().match(pattern);
      if (m) return m;
      if (!this.running) {
        throw new Error(`${this.name} exited (${JSON.stringify(this.exitStatus)}) before ${what}; log tail:\n${this.tail()}`);
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms; log tail:\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** SIGTERM to the process group, SIGKILL after graceMs. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    killGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(this.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SandboxOptions {
  /** name -> address, written to the namespace's /etc/hosts. */
  hosts?: Record<string, string>;
  /** Extra addresses put on the namespace's loopback interface (e.g. 169.254.169.254/32). */
  loopbackAddresses?: string[];
  /**
   * Address of a non-loopback interface for WebRTC clients: libwebrtc ignores loopback
   * interfaces and gathers nothing (not even a TURN allocation) without another one. It is one end
   * of a veth pair whose other end is in the namespace too: there is still no path out.
   */
  clientInterface?: string;
  /**
   * The namespace's ephemeral port range (net.ipv4.ip_local_port_range), e.g. kept clear of
   * coturn's relay range so that a relay port on 127.0.0.1 cannot be anything but a relay.
   */
  ephemeralPorts?: [number, number];
  /**
   * Share the machine's network namespace and keep only the private mount namespace (/etc/hosts,
   * /etc/resolv.conf): for processes a program outside the sandbox must reach at their own
   * address, e.g. SFU pods the operator scrapes at their kwok node's loopback address (the
   * end-to-end tests). Nothing is configured on the machine's interfaces, so loopbackAddresses,
   * clientInterface and ephemeralPorts are refused with it.
   */
  hostNetwork?: boolean;
}

/** 198.18.0.0/15 (RFC 2544 benchmarking): never routed, and in the rendered denied-peer-ip list. */
export const CLIENT_ADDRESS = '198.18.0.2';

export class Sandbox {
  readonly procs: Proc[] = [];
  private holder?: ChildProcess;
  private closed = false;
  private hostNetwork = false;

  private constructor(
    readonly label: string,
    readonly dir: string,
    readonly logsDir: string,
  ) {}

  /** Creates the namespace; resolves once its loopback is up and the files are in place. */
  static async create(label: string, opts: SandboxOptions = {}): Promise<Sandbox> {
    registerExitHook();
    for (const tool of [NSENTER, SETPRIV, UNSHARE, '/usr/sbin/ip']) {
      if (!existsSync(tool)) throw new Error(`${tool} not found (util-linux, iproute2): the media tests run their processes in a private network namespace`);
    }
    const dir = mkdtempSync(join(tmpdir(), `meet-media-${label}-`));
    chmodSync(dir, 0o755); // pod users (uid 1000, 999, 65534) must traverse it
    const logsDir = join(dir, 'logs');
    mkdirSync(logsDir, { mode: 0o755 });
    if (opts.hostNetwork && (opts.loopbackAddresses?.length || opts.clientInterface || opts.ephemeralPorts)) {
      throw new Error('hostNetwork: loopbackAddresses, clientInterface and ephemeralPorts would change the machine\'s own network');
    }
    const sb = new Sandbox(label, dir, logsDir);
    sb.hostNetwork = opts.hostNetwork ?? false;

    const hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...Object.entries(opts.hosts ?? {}).map(([n, a]) => `${a}\t${n}`)];
    writeFileSync(join(dir, 'hosts'), hosts.join('\n') + '\n', { mode: 0o644 });
    // One resolver: the recorder (probe.ts dns), when a test starts it; else queries fail at once.
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n', { mode: 0o644 });

    const addrs = [
      ...(opts.loopbackAddresses ?? []).map((a) => `ip addr add ${a} dev lo`),
      ...(opts.clientInterface
        ? ['ip link add client0 type veth peer name client1', `ip addr add ${opts.clientInterface} dev client0`, 'ip link set client1 up', 'ip link set client0 up']
        : []),
      ...(opts.ephemeralPorts ? [`echo '${opts.ephemeralPorts[0]} ${opts.ephemeralPorts[1]}' > /proc/sys/net/ipv4/ip_local_port_range`] : []),
    ].join('\n');
    const script = [
      'set -e',
      'mount --bind "$1" /etc/hosts',
      'mount --bind "$2" /etc/resolv.conf',
      ...(opts.hostNetwork ? [] : ['ip link set lo up']),
      addrs,
      'echo ready',
      // Lives as long as the test worker; the namespace goes when its last process does.
      'while kill -0 "$3" 2>/dev/null; do sleep 1; done',
    ].join('\n');
    const holder = spawn(UNSHARE, [...(opts.hostNetwork ? [] : ['--net']), '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', join(dir, 'hosts'), join(dir, 'resolv.conf'), String(process.pid)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: BASE_PATH },
    });
    sb.holder = holder;
    LIVE.add(holder.pid!);
    holder.on('exit', () => LIVE.delete(holder.pid!));
    let out = '';
    holder.stdout!.on('data', (d) => (out += d));
    holder.stderr!.on('data', (d) => (out += d));
    const deadline = Date.now() + 10_000;
    while (!out.includes('ready')) {
      if (holder.exitCode !== null || Date.now() > deadline) {
        await sb.close();
        throw new Error(`cannot create the network namespace (unshare --net --mount needs root or CAP_SYS_ADMIN): ${out.trim()}`);
      }
      await sleep(20);
    }
    return sb;
  }

  private nsArgv(opts: SpawnOptions, cwd: string): string[] {
    const h = this.holder!.pid!;
    const { user, argv } = opts;
    const ids = user
      ? ['--reuid', String(user.uid), '--regid', String(user.gid), '--groups', [...new Set(user.groups)].join(',')]
      : [];
    const readOnly = opts.readOnlyRoot
      ? [
          UNSHARE, '--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
          // remount,bind,ro changes this namespace's mount flag only, never the filesystem's.
          'set -e; while [ "$1" != -- ]; do mount --bind "$1" "$1"; shift; done; shift; mount -o remount,bind,ro /; exec "$@"',
          'sh', ...opts.readOnlyRoot.writable, '--',
        ]
      : [];
    return [NSENTER, ...(this.hostNetwork ? [] : [`--net=/proc/${h}/ns/net`]), `--mount=/proc/${h}/ns/mnt`, `--wd=${cwd}`, '--', ...readOnly, SETPRIV, ...ids, '--pdeathsig', 'KILL', '--', ...argv];
  }

  /** Starts a long-running process; stdout and stderr go to logs/<name>.log. */
  spawn(opts: SpawnOptions): Proc {
    if (this.closed) throw new Error('sandbox closed');
    const logPath = join(this.logsDir, `${opts.name}.log`);
    const fd = openSync(logPath, 'a', 0o644);
    const [cmd, ...args] = this.nsArgv(opts, opts.cwd ?? this.dir);
    const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? { PATH: BASE_PATH } });
    closeSync(fd);
    const p = new Proc(opts.name, child, logPath);
    this.procs.push(p);
    return p;
  }

  /** Starts a process whose stdin/stdout the test drives (a client); stderr goes to its log. */
  spawnPiped(opts: SpawnOptions): { proc: Proc; child: ChildProcess } {
    if (this.closed) throw new Error('sandbox closed');
    const logPath = join(this.logsDir, `${opts.name}.log`);
    const fd = openSync(logPath, 'a', 0o644);
    const [cmd, ...args] = this.nsArgv(opts, opts.cwd ?? this.dir);
    const child = spawn(cmd!, args, { detached: true, stdio: ['pipe', 'pipe', fd], env: opts.env ?? { PATH: BASE_PATH } });
    closeSync(fd);
    const proc = new Proc(opts.name, child, logPath);
    this.procs.push(proc);
    return { proc, child };
  }

  /** Runs a command to completion inside the namespace (bounded by timeoutMs). */
  run(opts: SpawnOptions & { timeoutMs: number; input?: string }): Promise<RunResult> {
    const [cmd, ...args] = this.nsArgv(opts, opts.cwd ?? this.dir);
    const child = spawn(cmd!, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? { PATH: BASE_PATH } });
    LIVE.add(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.on('error', () => {}); // a command that never reads its stdin
    child.stdin!.end(opts.input ?? '');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        killGroup(child.pid!, 'SIGKILL');
        reject(new Error(`${opts.name}: ${opts.argv.join(' ')} did not finish within ${opts.timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, opts.timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        LIVE.delete(child.pid!);
        if (!this.closed) writeFileSync(join(this.logsDir, `${opts.name}.log`), `$ ${opts.argv.join(' ')}\n${stdout}${stderr}\n[exit ${code ?? signal}]\n`, { flag: 'a' });
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /**
   * Kills every process this sandbox started, then the namespace holder. The logs are copied to
   * .test-results/media/<label>/ (kept for a look after a failure); the directory is removed
   * unless MEDIA_KEEP=1.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.procs.map((p) => p.stop()));
    if (this.holder && this.holder.exitCode === null) {
      killGroup(this.holder.pid!, 'SIGKILL');
    }
    try {
      const dest = join(process.cwd(), '.test-results', 'media', this.label);
      rmSync(dest, { recursive: true, force: true });
      cpSync(this.logsDir, dest, { recursive: true });
    } catch {
      /* logs are a convenience */
    }
    if (process.env.MEDIA_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}
