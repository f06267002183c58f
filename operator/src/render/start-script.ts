// The start scripts of the pods that need a value only known at run time (the node's public IP) or
// a secret their program reads only from its configuration file (coturn's static-auth-secret,
// Redis's requirepass). One helper for all of them, so the rules are written once:
//  - a secret is read from its mounted Secret file with the shell's `read` builtin and written with
//    `printf` (also a builtin): it never appears on any process's command line or in any
//    environment, unlike `--static-auth-secret="$SECRET"` or `--requirepass $(PASSWORD)`;
//  - the composed file lands on a memory-backed volume, mode 0400 (umask 0277), owned by the pod's
//    user: only the server reads it, and it never touches a disk;
//  - values are only ever expanded inside double quotes, so nothing in them (a hostile metadata
//    answer, a secret with `$(...)`) is run; backquotes, not $(...), because Kubernetes expands
//    $(VAR) in commands itself;
//  - the script ends with `exec`, so the server is the container's main process and gets SIGTERM.
import type { ExternalIPSource } from '../cloud/profiles.js';

/** Env var holding the node's address (downward API status.hostIP) in every media pod. */
export const HOST_IP_ENV = 'HOST_IP';

/** A line appended to the composed configuration file. */
export type ConfigLine =
  /** `format` with %s replaced by the first line of a (secret) file. */
  | { format: string; file: string; escape?: 'double-quoted' }
  /** `format` with %s replaced by a shell variable set earlier in the script (not secret). */
  | { format: string; variable: string };

export interface StartScript {
  /** Shell lines run first (e.g. setting public_ip); they must not handle secrets. */
  prelude?: string[];
  /** The rendered configuration file (from the ConfigMap) the composed file starts with. */
  base?: string;
  /** The composed file (on a memory-backed emptyDir). */
  out?: string;
  /** Lines before the base file (TOML keys of the root table must precede every [table]). */
  head?: ConfigLine[];
  lines?: ConfigLine[];
  /** Files appended after the lines (e.g. the model's own part of a configuration, from its volume). */
  tail?: string[];
  /** The server's command line; may name shell variables set by the prelude ("$public_ip"). */
  exec: string;
}

/** Shell variable holding the node's public IP after publicIPPrelude. */
export const PUBLIC_IP_VAR = 'public_ip';

/**
 * Sets $public_ip to the address clients reach this node at: the node's own address (status.hostIP)
 * or, behind 1:1 NAT, what the cloud's metadata service answers. Fails the start when the answer
 * is not an IPv4 address (a metadata outage must not advertise garbage).
 */
export function publicIPPrelude(source: ExternalIPSource): string[] {
  if (source.kind === 'hostIP') return [`${PUBLIC_IP_VAR}="$${HOST_IP_ENV}"`, requireIPAddress(PUBLIC_IP_VAR, `${HOST_IP_ENV} (status.hostIP)`)];
  return [
    // `timeout 5 wget`, not `wget -T 5`: Debian bookworm's busybox wget dies of a segmentation fault
    // on -T (measured with 1.35.0-4+deb12u1); Alpine's busybox and GNU coreutils have timeout too.
    `${PUBLIC_IP_VAR}=\`timeout 5 wget -qO- ${source.url}\` || { echo "cannot read the node's public IP from ${source.url}" >&2; exit 1; }`,
    requireIPAddress(PUBLIC_IP_VAR, `the metadata service at ${source.url}`),
  ];
}

/** Fails the start unless $variable looks like an IP address (IPv4 or IPv6): it is about to be advertised and
 * written into a configuration line, where anything else (a line break, say) could add a directive. */
function requireIPAddress(variable: string, from: string): string {
  return `case "$${variable}" in *[!0-9A-Fa-f.:]*|'') echo "${from} gave no IP address" >&2; exit 1 ;; esac`;
}

/** Shell variable holding coturn's external-ip after coturnExternalIPPrelude. */
export const EXTERNAL_IP_VAR = 'external_ip';

/** Sets $external_ip for coturn: PUBLIC/PRIVATE behind 1:1 NAT, the node's address otherwise. */
export const coturnExternalIPPrelude = (source: ExternalIPSource): string[] => [
  ...publicIPPrelude(source),
  ...(source.kind === 'metadata' ? [requireIPAddress(HOST_IP_ENV, `${HOST_IP_ENV} (status.hostIP)`)] : []),
  `${EXTERNAL_IP_VAR}=${source.kind === 'metadata' ? `"$${PUBLIC_IP_VAR}/$${HOST_IP_ENV}"` : `"$${PUBLIC_IP_VAR}"`}`,
];

/** Reads the first line of `file` into `var` (builtin read: no process sees the value). */
function readSecret(file: string, variable: string): string[] {
  return [
    `${variable}=''`,
    `IFS= read -r ${variable} < ${file} || [ -n "$${variable}" ] || { echo "cannot read ${file}" >&2; exit 1; }`,
    `[ -n "$${variable}" ] || { echo "${file} is empty" >&2; exit 1; }`,
    // A control character (a carriage return, say) could end the configuration line early and start
    // another directive: refuse the secret rather than write it.
    `case "$${variable}" in *[![:print:]]*) echo "${file} holds a control character; use printable characters only" >&2; exit 1 ;; esac`,
  ];
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function startScript(s: StartScript): string {
  const lines = ['set -eu', ...(s.prelude ?? [])];
  if (s.out) {
    if (!s.base) throw new Error('startScript: a composed file needs a base file');
    const vars: string[] = [];
    const write = (l: ConfigLine, i: number) => {
      if (!('file' in l)) return `  printf ${shellQuote(l.format + '\\n')} "$${l.variable}"`;
      const v = `secret_${i}`;
      vars.push(v);
      lines.push(...readSecret(l.file, v));
      // Inside a double-quoted config value only \ and " need escaping (Redis's quoting rules); the
      // value goes through a pipe, never an argument.
      if (l.escape === 'double-quoted') return `  printf '%s' "$${v}" | sed 's/[\\\\"]/\\\\&/g' | { IFS= read -r e || [ -n "$e" ]; printf ${shellQuote(l.format + '\\n')} "$e"; }`;
      return `  printf ${shellQuote(l.format + '\\n')} "$${v}"`;
    };
    const head = (s.head ?? []).map(write);
    const body = (s.lines ?? []).map((l, i) => write(l, head.length + i));
    const tail = (s.tail ?? []).map((f) => `  cat ${f}`);
    // One redirection creates the file 0400 (umask 0277) and writes it through the same descriptor.
    // In a subshell: the server must not inherit that umask (Redis would create its AOF directory
    // unwritable to itself).
    lines.push('(', '  umask 0277', `  rm -f ${s.out}`, '  {', ...head.map((b) => `  ${b}`), `    cat ${s.base}`, ...body.map((b) => `  ${b}`), ...tail.map((b) => `  ${b}`), `  } > ${s.out}`, ')');
    if (vars.length) lines.push(`unset ${vars.join(' ')}`);
  }
  lines.push(`exec ${s.exec}`);
  return lines.join('\n');
}
