// scrapePod against real HTTP servers on loopback: a LiveKit-shaped exposition, a slow server,
// an error, and an endpoint that is not LiveKit.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapLimited, scrapePod } from './reader.js';

let server: Server;
let base = '';
const routes: Record<string, (res: import('node:http').ServerResponse) => void> = {
  '/metrics': (res) => res.end('livekit_participant_total{node_id="ND_1",node_type="SERVER"} 12\nlivekit_room_total{node_id="ND_1",node_type="SERVER"} 3\nprocess_cpu_seconds_total 4.25\n'),
  '/slow': (res) => void setTimeout(() => res.end('livekit_participant_total 1\nlivekit_room_total 1\n'), 2000),
  '/error': (res) => res.writeHead(500).end('boom'),
  '/other': (res) => res.end('go_goroutines 12\n'),
};

beforeAll(async () => {
  server = createServer((req, res) => (routes[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('scrapePod', () => {
  it('reads participants, rooms, CPU seconds and the node id', async () => {
    expect(await scrapePod(`${base}/metrics`, 1000)).toEqual({ participants: 12, rooms: 3, cpuSeconds: 4.25, nodeId: 'ND_1' });
    expect(await scrapePod(`${base}/slow`, 3000)).toEqual({ participants: 1, rooms: 1 });
  });

  it('times out instead of waiting for a slow pod', async () => {
    const t0 = Date.now();
    await expect(scrapePod(`${base}/slow`, 200)).rejects.toThrow(/timeout|aborted/i);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('an HTTP error, a refused connection or a non-LiveKit endpoint is an error, not zero load', async () => {
    await expect(scrapePod(`${base}/error`, 1000)).rejects.toThrow(/HTTP 500/);
    await expect(scrapePod(`${base}/other`, 1000)).rejects.toThrow(/no livekit_participant_total/);
    await expect(scrapePod('http://127.0.0.1:1/metrics', 1000)).rejects.toThrow();
  });
});

describe('mapLimited', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, n * 5));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
