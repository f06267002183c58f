import { Room } from '@livekit/protocol';
import { describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../api/validate.js';
import { baseManifest } from '../../test/specs.js';
import { oldestMeeting, readOldestMeeting, redisEndpoint, roomCreatedAt } from './livekit-rooms.js';

describe('roomCreatedAt', () => {
  it('reads creation_time_ms, else creation_time in seconds, from the Room protobuf LiveKit stores', () => {
    expect(roomCreatedAt(new Room({ name: 'r', creationTime: 1_765_000_000n, creationTimeMs: 1_765_000_000_123n }).toBinary())).toBe(1_765_000_000_123);
    expect(roomCreatedAt(new Room({ name: 'r', creationTime: 1_765_000_000n }).toBinary())).toBe(1_765_000_000_000);
    expect(roomCreatedAt(new Room({ name: 'r' }).toBinary())).toBeUndefined();
    expect(roomCreatedAt(Uint8Array.from([0xff, 0xff, 0xff]))).toBeUndefined();
  });
});

describe('oldestMeeting', () => {
  const podOfNode = new Map([['ND_old1', 'sfu-a-1'], ['ND_old2', 'sfu-a-2']]);
  it('the oldest room placed on one of the nodes, with its pod', () => {
    const placement = { standup: 'ND_old1', codir: 'ND_old2', fresh: 'ND_new', ancient: 'ND_new' };
    const created = new Map([['standup', 3000], ['codir', 2000], ['fresh', 4000], ['ancient', 1000]]);
    expect(oldestMeeting(placement, created, podOfNode)).toEqual({ room: 'codir', pod: 'sfu-a-2', since: 2000 });
  });
  it('none when no room on those nodes has a known start; ties go to the smaller name', () => {
    expect(oldestMeeting({ a: 'ND_new' }, new Map([['a', 1]]), podOfNode)).toBeUndefined();
    expect(oldestMeeting({ a: 'ND_old1' }, new Map(), podOfNode)).toBeUndefined();
    expect(oldestMeeting({ b: 'ND_old1', a: 'ND_old2' }, new Map([['a', 5], ['b', 5]]), podOfNode)?.room).toBe('a');
  });
});

describe('redisEndpoint', () => {
  const cluster = (redis: object) => validateMeetingCluster({ ...baseManifest(), spec: { ...baseManifest().spec, redis } }).cluster!;
  it('the managed Service, or the external address with its TLS', () => {
    const managed = cluster({});
    expect(redisEndpoint(managed)).toEqual({ host: `${managed.metadata.name}-redis.${managed.metadata.namespace}.svc.cluster.local`, port: 6379, tls: false });
    expect(redisEndpoint(cluster({ mode: 'external', external: { address: 'redis.partner.example:6380', tls: true } }))).toEqual({ host: 'redis.partner.example', port: 6380, tls: true });
    expect(redisEndpoint(cluster({ mode: 'external', external: { address: '10.0.4.7:6379' } }))).toEqual({ host: '10.0.4.7', port: 6379, tls: false });
  });
});

describe('readOldestMeeting', () => {
  it('an unreachable Redis is an error naming it and the cause (not "no meeting")', async () => {
    await expect(readOldestMeeting({ host: '127.0.0.1', port: 1, tls: false }, 'pw', new Map([['ND_1', 'p']]), 1000)).rejects.toThrow(/^Redis 127\.0\.0\.1:1: connect ECONNREFUSED/);
  });
  it('no node to ask about: no connection at all', async () => {
    await expect(readOldestMeeting({ host: '127.0.0.1', port: 1, tls: false }, 'pw', new Map(), 1000)).resolves.toBeUndefined();
  });
});
