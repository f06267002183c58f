// Runs the real operator (`node dist/cli/bin.js run`) as a child process against the test control
// plane, and reads the API server's audit log to count what it wrote.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';
import { AuditReader, type AuditEvent } from '../audit-log.js';

export interface OperatorProcess {
  identity: string;
  proc: ChildProcess;
  logs: string[];
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  kill(): Promise<number | null>;
}

/** Starts `node argv...`, keeping its output as lines; stop() sends SIGTERM, kill() SIGKILL. */
export function spawnNode(argv: string[], env: NodeJS.ProcessEnv): Omit<OperatorProcess, 'identity'> {
  const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop()!;
    logs.push(...lines);
    // OPERATOR_LOG_FILE=path keeps every line of every operator process for a closer look.
    if (process.env.OPERATOR_LOG_FILE && lines.length) appendFileSync(process.env.OPERATOR_LOG_FILE, `${lines.join('\n')}\n`);
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const signal = (s: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(s);
    return exited;
  };
  return { proc, logs, exited, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

export function startOperator(identity: string, args: string[] = []): OperatorProcess {
  const argv = ['dist/cli/bin.js', 'run', '--kubeconfig', inject('kubeconfig'), '--listen', '127.0.0.1:0', '--leader-election-namespace', 'default', '--identity', identity, ...args];
  return { identity, ...spawnNode(argv, { ...process.env, LOG_LEVEL: 'debug' }) };
}

export const logged = (op: OperatorProcess, msg: string): boolean => op.logs.some((l) => l.includes(`"msg":"${msg}"`));

/** Write requests recorded by the API server (completed), optionally from one user agent. */
export const auditWrites = (userAgentPart?: string): AuditEvent[] =>
  new AuditReader(inject('auditLog')).completed((e) => !userAgentPart || e.userAgent.includes(userAgentPart));

/** The operator's user agent carries its identity: `meet-operator/<v> (<identity>)`. */
export { userAgent as operatorAgent } from '../../src/kube/http.js';
