// The pure parts of the ICE checks: candidates and credentials read from the SFU's answer, the offer,
// and the connectivity check's wire format (short-term MESSAGE-INTEGRITY, FINGERPRINT).
import { createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { dataChannelOffer, iceBindingRequest, parseCandidate, sdpIce } from './ice.js';
import { stunAttrs } from './stun.js';

describe('ICE candidates and credentials', () => {
  it('reads UDP and passive TCP candidates, from an SDP line or a trickled candidate', () => {
    expect(parseCandidate('candidate:1467250027 1 udp 2130706431 192.0.2.2 50012 typ host generation 0')).toEqual({ transport: 'udp', address: '192.0.2.2', port: 50012, type: 'host' });
    expect(parseCandidate('a=candidate:2 1 TCP 1671430143 198.51.100.7 7881 typ srflx raddr 10.0.0.4 rport 7881 tcptype passive'.slice(2))).toEqual({ transport: 'tcp', address: '198.51.100.7', port: 7881, type: 'srflx', tcpType: 'passive' });
    expect(parseCandidate('')).toBeUndefined();
    expect(parseCandidate('a=ice-ufrag:abcd')).toBeUndefined();
  });

  it('takes the SFU\'s ufrag, password and candidates from its answer', () => {
    const answer = ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=ice-ufrag:SfuUfrag', 'a=ice-pwd:SfuPasswordSfuPassword12', 'a=candidate:1 1 udp 2130706431 192.0.2.2 50012 typ host', 'a=end-of-candidates', ''].join('\r\n');
    expect(sdpIce(answer)).toEqual({ ufrag: 'SfuUfrag', pwd: 'SfuPasswordSfuPassword12', candidates: [{ transport: 'udp', address: '192.0.2.2', port: 50012, type: 'host' }] });
    expect(sdpIce('v=0\r\n')).toEqual({ candidates: [] });
  });

  it('offers one data channel with our credentials and a SHA-256 fingerprint', () => {
    const sdp = dataChannelOffer({ ufrag: 'u1', pwd: 'p'.repeat(24) }, Buffer.alloc(32, 0xab));
    expect(sdp).toContain('m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n');
    expect(sdp).toContain('a=ice-ufrag:u1\r\n');
    expect(sdp).toContain(`a=ice-pwd:${'p'.repeat(24)}\r\n`);
    expect(sdp).toMatch(/a=fingerprint:sha-256 AB(:AB){31}\r\n/);
    expect(sdp.split('\r\n').filter((l) => l.startsWith('m='))).toHaveLength(1);
  });
});

describe('the ICE connectivity check on the wire', () => {
  const session = { ufrag: 'SfuUfrag', pwd: 'SfuPasswordSfuPassword12', local: { ufrag: 'ours', pwd: 'x'.repeat(32) } };
  const txid = Buffer.alloc(12, 7);
  const tie = Buffer.alloc(8, 1);
  const msg = iceBindingRequest(txid, session, tie);

  it('is a Binding request from the controlling side, USERNAME "theirs:ours"', () => {
    expect(msg.readUInt16BE(0)).toBe(0x0001);
    expect(msg.readUInt16BE(2)).toBe(msg.length - 20);
    expect(msg.subarray(8, 20)).toEqual(txid);
    const attrs = stunAttrs(msg);
    expect(attrs.get(0x0006)?.toString()).toBe('SfuUfrag:ours');
    expect(attrs.get(0x802a)).toEqual(tie);
    expect(attrs.get(0x0024)?.readUInt32BE(0)).toBe(((110 << 24) | (65535 << 8) | 255) >>> 0);
  });

  it('carries MESSAGE-INTEGRITY keyed by the SFU\'s password, then a FINGERPRINT over all before it', () => {
    // MESSAGE-INTEGRITY (24 bytes) then FINGERPRINT (8) end the message.
    const miAt = msg.length - 8 - 24;
    expect(msg.readUInt16BE(miAt)).toBe(0x0008);
    const signed = Buffer.from(msg.subarray(0, miAt));
    signed.writeUInt16BE(miAt - 20 + 24, 2); // the length as it was when MI was computed: up to MI
    expect(msg.subarray(miAt + 4, miAt + 24)).toEqual(createHmac('sha1', session.pwd).update(signed).digest());
    const fpAt = msg.length - 8;
    expect(msg.readUInt16BE(fpAt)).toBe(0x8028);
    expect(msg.readUInt32BE(fpAt + 4)).toBe((crc32(msg.subarray(0, fpAt)) ^ 0x5354554e) >>> 0);
  });
});
