// Signalling as a client does it: LiveKit's token check (/rtc/validate, which answers why it refuses),
// then the WebSocket join, whose JoinResponse names the node and the ICE servers clients are handed.
import { SignalResponse } from '@livekit/protocol';

export interface Joined {
  nodeId: string;
  version: string;
  iceServers: { urls: string[]; username: string; credential: string }[];
}

/** GET /rtc/validate: 200 when LiveKit accepts the token; otherwise its status and reason. */
export async function validateToken(httpUrl: string, token: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`${httpUrl}/rtc/validate?access_token=${encodeURIComponent(token)}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: (await res.text()).slice(0, 300) };
}

/**
 * What the signalling endpoint answers a plain GET of the join URL: Node's WebSocket reports a refused
 * upgrade with no detail at all, while LiveKit says in the body why it could not place the participant.
 */
async function refusal(url: string, timeoutMs: number): Promise<string> {
  try {
    const res = await fetch(url.replace(/^ws/, 'http'), { signal: AbortSignal.timeout(timeoutMs) });
    return `HTTP ${res.status}: ${(await res.text()).trim().slice(0, 200)}`;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The signalling WebSocket a participant joins through (as the JS SDK, protocol 16, subscribing to nothing). */
export const joinUrl = (wsUrl: string, token: string): string => `${wsUrl}/rtc?access_token=${encodeURIComponent(token)}&protocol=16&sdk=js&auto_subscribe=0`;

/** Opens the signalling WebSocket, reads the JoinResponse, and leaves. */
export async function joinOnce(wsUrl: string, token: string, timeoutMs: number): Promise<Joined> {
  const url = joinUrl(wsUrl, token);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  try {
    return await new Promise<Joined>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no JoinResponse within ${timeoutMs / 1000} s`)), timeoutMs);
      let failed = false;
      ws.onerror = () => {
        // The close event follows the error event: the refusal's detail answers for both.
        failed = true;
        clearTimeout(timer);
        void refusal(url, timeoutMs).then((why) => reject(new Error(`WebSocket ${wsUrl} refused (${why})`)));
      };
      ws.onclose = (e) => void (failed || (clearTimeout(timer), reject(new Error(`WebSocket ${wsUrl} closed before the JoinResponse (code ${e.code}${e.reason ? `, ${e.reason}` : ''})`))));
      ws.onmessage = (ev) => {
        const msg = SignalResponse.fromBinary(new Uint8Array(ev.data as ArrayBuffer));
        if (msg.message.case !== 'join') return;
        clearTimeout(timer);
        const j = msg.message.value;
        resolve({ nodeId: j.serverInfo?.nodeId ?? '', version: j.serverInfo?.version ?? '', iceServers: j.iceServers.map((s) => ({ urls: [...s.urls], username: s.username, credential: s.credential })) });
      };
    });
  } finally {
    ws.onclose = null;
    ws.close();
  }
}
