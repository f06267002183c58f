// Where a secret can be read on a node without being root in the pod: the command line of any
// process (/proc/PID/cmdline: `ps`, node agents, hostPID pods) and, for the process's own user and
// root, its environment (/proc/PID/environ). The media and real-node suites scan every process on
// the machine for every secret value of the stack they run.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface Exposure {
  pid: number;
  exe: string;
  where: 'cmdline' | 'environ';
  secret: string;
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return ''; // gone meanwhile, or a kernel thread
  }
};
const exe = (pid: number): string => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};

/**
 * Every process (of `pids`, default: all) whose command line or environment holds one of `secrets`
 * (name -> value), except the environments `allowEnv` accepts (a secret a program can only take from
 * its environment).
 */
export function scanProcesses(secrets: Record<string, string>, allowEnv: (e: Exposure) => boolean = () => false, pids?: number[]): Exposure[] {
  const found: Exposure[] = [];
  for (const pid of pids ?? readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)) {
    if (pid === process.pid) continue; // the test itself holds the values it looks for
    const cmdline = read(`/proc/${pid}/cmdline`);
    const environ = read(`/proc/${pid}/environ`);
    for (const [name, value] of Object.entries(secrets)) {
      if (value.length < 8) throw new Error(`secret ${name} is too short to scan for`);
      if (cmdline.includes(value)) found.push({ pid, exe: exe(pid), where: 'cmdline', secret: name });
      if (environ.includes(value)) {
        const e: Exposure = { pid, exe: exe(pid), where: 'environ', secret: name };
        if (!allowEnv(e)) found.push(e);
      }
    }
  }
  return found;
}
