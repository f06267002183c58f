// The likely cause of a failed check, from what the failure looked like (pure). The words name what
// a platform engineer can go and look at: a port, a listener, a Secret, a component.

/** The Node.js error code (ENOTFOUND, ECONNREFUSED...) of an error or of its cause chain. */
export function errorCode(e: unknown): string | undefined {
  for (let x: any = e, depth = 0; x && depth < 5; x = x.cause, depth++) {
    if (typeof x.code === 'string') return x.code;
  }
  return undefined;
}

/** The message of an error and of its causes ("fetch failed: connect ECONNREFUSED ..."). */
export function errorText(e: unknown): string {
  const parts: string[] = [];
  for (let x: any = e, depth = 0; x && depth < 5; x = x.cause, depth++) {
    const m = x instanceof Error || typeof x?.message === 'string' ? String(x.message) : String(x);
    if (m && !parts.includes(m)) parts.push(m);
  }
  return parts.join(': ');
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|HOSTNAME|ALTNAME/;

/** Why a connection to host:port over `transport` failed, as a hint. */
export function connectionHint(e: unknown, target: { host: string; port: number; transport: 'udp' | 'tcp' | 'tls' }): string {
  const code = errorCode(e) ?? '';
  const text = errorText(e);
  const where = `${target.host}:${target.port}/${target.transport === 'udp' ? 'udp' : 'tcp'}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `${target.host} does not resolve: create its DNS record (see the dns checks)`;
  if (code === 'ECONNREFUSED') return `nothing accepts connections on ${where}: the server is down, or the load balancer has no listener/healthy backend on that port`;
  if (code === 'ECONNRESET' || code === 'EPIPE') return `${where} closed the connection: a load balancer or proxy in between refuses this protocol (for TLS: does it terminate TLS on a port that expects TCP?)`;
  if (TLS_CODES.test(code) || /certificate/i.test(text)) return `the TLS certificate of ${target.host} is not valid for it or not trusted (${code || text}): check the Secret mounted by the server; a private CA must be trusted (NODE_EXTRA_CA_CERTS=ca.pem)`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `no route to ${target.host}: a firewall or the network blocks it`;
  if (/timed? ?out|within \d/i.test(text) || code === 'ETIMEDOUT') {
    return target.transport === 'udp'
      ? `no answer over UDP from ${where}: UDP is blocked on the way (firewall, Security Group) or the load balancer does not forward UDP`
      : `no answer from ${where}: a firewall or Security Group drops the traffic, or the server hangs`;
  }
  return `${where}: ${text}`;
}

/** Why LiveKit's /rtc/validate refused the token we signed with the cluster's own keys. */
export function validateHint(status: number, body: string): string {
  if (status === 401) return `LiveKit refuses a token signed with the keys in the cluster's Secret (${body.trim() || 'unauthorized'}): the SFU runs with other keys (a Secret edited by hand? restart the SFU pods to reload key_file)`;
  if (status === 404) return 'the URL answers but is not LiveKit (wrong backend or path on the load balancer / ingress)';
  if (status >= 500) return `LiveKit answered ${status} (${body.trim()}): it cannot serve rooms; is its Redis up (see the Redis condition)?`;
  return `LiveKit answered ${status}: ${body.trim()}`;
}

/** Why a TURN server refused an allocation with the credentials LiveKit hands out. */
export function turnRefusalHint(errorCode: number | undefined, reason: string | undefined): string {
  if (errorCode === 401) return "the TURN server refuses the credentials LiveKit hands to clients: its shared secret differs from LiveKit's (coturn's static-auth-secret vs livekit.yaml turn secret; both come from the TURN Secret: restart whichever still runs with an old one)";
  if (errorCode === 486) return 'the TURN server hit its allocation quota (user-quota/total-quota): raise it or add TURN capacity';
  if (errorCode === 508) return 'the TURN server has no relay port left: widen its relay port range';
  if (errorCode === 403) return 'the TURN server forbids this allocation (denied peer or realm): check its configuration';
  return `TURN error ${errorCode ?? '?'} ${reason ?? ''}`.trim();
}
