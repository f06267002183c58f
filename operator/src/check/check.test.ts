// The pure parts of `meet-operator check`: what it targets, how it reads ICE URLs, its hints, its
// report and exit code.
import { describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../api/validate.js';
import { baseManifest } from '../../test/specs.js';
import { connectionHint, turnRefusalHint, validateHint } from './hints.js';
import { clusterReport, exitCode, formatText, type CheckResult } from './report.js';
import { allowedIceHosts, foreignIceUrls, parseIceUrl, publicNames, signallingUrls } from './targets.js';

const cluster = (spec: object = {}) => validateMeetingCluster({ ...baseManifest(), spec: { ...baseManifest().spec, ...spec } }).cluster!;
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('targets', () => {
  it('the public names: signalling, TURN/TLS, TURN/UDP when it differs', () => {
    expect(publicNames(cluster())).toEqual(['visio.justice.example', 'turn.justice.example']);
    const split = cluster({ turn: { ...baseManifest().spec.turn, udpDomain: 'turn-udp.justice.example' } });
    expect(publicNames(split)).toEqual(['visio.justice.example', 'turn.justice.example', 'turn-udp.justice.example']);
  });

  it('the signalling URL: --url, else status, else wss://domain; with its HTTP twin', () => {
    expect(signallingUrls(cluster(), undefined, undefined)).toEqual({ ws: 'wss://visio.justice.example', http: 'https://visio.justice.example' });
    expect(signallingUrls(cluster(), 'wss://from.status/', undefined).ws).toBe('wss://from.status');
    expect(signallingUrls(cluster(), 'wss://from.status', 'http://10.0.0.1:7880')).toEqual({ ws: 'ws://10.0.0.1:7880', http: 'http://10.0.0.1:7880' });
  });

  it('reads ICE URLs with their default ports and transports', () => {
    expect(parseIceUrl('turn:turn.example:3478?transport=udp')).toMatchObject({ scheme: 'turn', host: 'turn.example', port: 3478, transport: 'udp' });
    expect(parseIceUrl('turns:turn.example:443?transport=tcp')).toMatchObject({ scheme: 'turns', port: 443, transport: 'tls' });
    expect(parseIceUrl('turn:turn.example')).toMatchObject({ port: 3478, transport: 'udp' });
    expect(parseIceUrl('turn:turn.example?transport=tcp')).toMatchObject({ transport: 'tcp' });
    expect(parseIceUrl('stun:[2001:db8::1]:3478')).toMatchObject({ host: '2001:db8::1' });
    expect(parseIceUrl('https://turn.example')).toBeUndefined();
  });

  it('ICE servers outside our TURN names and the ministry STUN servers are foreign', () => {
    const mc = cluster({ sovereignty: { stunServers: ['stun.interieur.gouv.fr:3478'] } });
    const allowed = allowedIceHosts(mc);
    expect([...allowed].sort()).toEqual(['stun.interieur.gouv.fr', 'turn.justice.example']);
    expect(foreignIceUrls(['turns:TURN.justice.example:443?transport=tcp', 'stun:stun.interieur.gouv.fr:3478', 'stun:stun.l.google.com:19302', 'garbage'], allowed)).toEqual(['stun:stun.l.google.com:19302', 'garbage']);
  });
});

describe('hints', () => {
  const udp = { host: 'turn.example', port: 3478, transport: 'udp' as const };
  const tls = { host: 'turn.example', port: 443, transport: 'tls' as const };
  it('name the likely cause from what the failure looked like', () => {
    expect(connectionHint(coded('ENOTFOUND'), tls)).toMatch(/does not resolve/);
    expect(connectionHint(coded('ECONNREFUSED'), udp)).toMatch(/nothing accepts connections on turn\.example:3478\/udp: the server is down/);
    expect(connectionHint(new Error('no STUN/TURN answer over UDP within 10 s'), udp)).toMatch(/UDP is blocked on the way .* does not forward UDP/);
    expect(connectionHint(new Error('no TURN answer within 10 s'), tls)).toMatch(/firewall or Security Group drops the traffic/);
    expect(connectionHint(coded('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), tls)).toMatch(/certificate of turn\.example is not valid .*NODE_EXTRA_CA_CERTS/);
    expect(connectionHint(Object.assign(new Error('fetch failed'), { cause: coded('ECONNRESET') }), tls)).toMatch(/closed the connection/);
    expect(turnRefusalHint(401, 'Unauthorized')).toMatch(/shared secret differs from LiveKit's/);
    expect(turnRefusalHint(486, 'Allocation Quota Reached')).toMatch(/quota/);
    expect(validateHint(401, 'invalid token')).toMatch(/SFU runs with other keys/);
    expect(validateHint(503, 'service unavailable')).toMatch(/Redis/);
  });
});

describe('report', () => {
  const c = (group: string, status: CheckResult['status'], hint?: string): CheckResult => ({ group, name: `${group} check`, status, detail: 'seen', ...(hint ? { hint } : {}) });
  it('fails when any check fails; warnings and skips alone exit 0', () => {
    const ok = clusterReport('justice', 'visio', [c('dns', 'pass'), c('media', 'skip')]);
    const warned = clusterReport('justice', 'visio', [c('dns', 'pass'), c('cluster', 'warn', 'look')]);
    const bad = clusterReport('justice', 'visio', [c('dns', 'fail', 'create it'), c('cluster', 'warn')]);
    expect([ok.status, warned.status, bad.status]).toEqual(['pass', 'warn', 'fail']);
    expect(exitCode([ok, warned])).toBe(0);
    expect(exitCode([ok, bad])).toBe(1);
  });

  it('prints groups, a mark per check, hints under failures only, and a count', () => {
    const text = formatText([clusterReport('justice', 'visio', [c('dns', 'pass', 'unused'), c('dns', 'fail', 'create it'), c('turn', 'warn', 'look')])]);
    expect(text).toBe(
      'justice/visio\n=============\n\ndns\n---\n√ dns check: seen\n× dns check: seen\n    hint: create it\n\nturn\n----\n‼ turn check: seen\n    hint: look\n\n× justice/visio: 1 passed, 1 warnings, 1 failed, 0 skipped\n\n',
    );
  });
});
