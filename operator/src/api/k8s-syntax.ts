// The syntax Kubernetes itself checks on the values a MeetingCluster passes through to its children
// (k8s.io/apimachinery/pkg/util/validation, k8s.io/utils/net): label keys and values, annotation
// keys, object names, Secret keys, CIDRs. A spec the operator accepts must never produce a child
// the API server refuses half-way through an apply, so these rules are checked before rendering,
// with the API server's own limits. The patterns are shared with the CRD schema (schema.ts).

/** DNS-1123 subdomain (object names, label/annotation key prefixes), at most 253 characters. */
export const SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** DNS-1123 label: at most 63 characters. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** A label value: empty, or at most 63 alphanumerics, '-', '_', '.' starting and ending alphanumeric. */
export const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
/** A qualified name (label and annotation keys, toleration keys): [subdomain/]name, name at most 63. */
export const QUALIFIED_NAME = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** A key of a Secret or ConfigMap. */
export const CONFIG_KEY = '^[-._a-zA-Z0-9]+$';

const re = (p: string) => new RegExp(p);
/** A user value quoted in a message, cut to a readable length. */
export const short = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
const SUBDOMAIN_RE = re(SUBDOMAIN);
const LABEL_VALUE_RE = re(LABEL_VALUE);
const QUALIFIED_NAME_RE = re(QUALIFIED_NAME);

/** Why `key` is not a valid qualified name (label key, annotation key), or undefined. */
export function qualifiedNameError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && prefix.length > 253) return `its prefix has ${prefix.length} characters; at most 253`;
  if (prefix !== undefined && !SUBDOMAIN_RE.test(prefix)) return `its prefix ${short(prefix)} must be a DNS subdomain (lower case alphanumerics, '-', '.')`;
  if (name.length > 63) return `its name part has ${name.length} characters; at most 63`;
  if (!QUALIFIED_NAME_RE.test(name)) return `its name part ${short(name)} must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  return undefined;
}

/** Why `value` is not a valid label value, or undefined. */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE_RE.test(value)) {
    return `${short(value)} must be a label value: at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}

const V4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

function ipv4Bits(ip: string): bigint | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => V4_OCTET.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function ipv6Bits(ip: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(ip)) return undefined; // no zone, no embedded IPv4
  let canonical: string;
  try {
    canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}

/**
 * Why `cidr` would be refused in a NetworkPolicy ipBlock, or undefined. Kubernetes 1.36 refuses
 * leading zeros, bits set beyond the prefix and IPv4-mapped IPv6; it only warns about IPv6 not in
 * RFC 5952 form, which is refused here too so that what is applied reads as it was written.
 */
export function cidrError(cidr: string): string | undefined {
  const slash = cidr.indexOf('/');
  const ip = slash >= 0 ? cidr.slice(0, slash) : cidr;
  const prefix = slash >= 0 ? cidr.slice(slash + 1) : '';
  if (!PREFIX.test(prefix)) return `"${cidr}" must be an address and a prefix length, e.g. 10.0.0.0/16 or 2001:db8::/48`;
  const v4 = ip.includes(':') ? undefined : ipv4Bits(ip);
  const width = ip.includes(':') ? 128 : 32;
  const bits = ip.includes(':') ? ipv6Bits(ip) : v4;
  if (bits === undefined || Number(prefix) > width) return `"${cidr}" is not a valid CIDR (leading zeros are refused), e.g. 10.0.0.0/16 or 2001:db8::/48`;
  if (width === 128) {
    const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
    if (bits >> 32n === 0xffffn) return `"${cidr}" is an IPv4-mapped IPv6 range; write the IPv4 range`;
    if (canonical !== ip) return `"${cidr}" must be written in RFC 5952 form: ${canonical}/${prefix}`;
  }
  const hostBits = BigInt(width - Number(prefix));
  if (hostBits > 0n && (bits & ((1n << hostBits) - 1n)) !== 0n) return `"${cidr}" has bits set beyond its /${prefix} prefix`;
  return undefined;
}
