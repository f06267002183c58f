// One real call for `meet-operator check`: two participants (the LiveKit Node SDK, WebRTC in
// libwebrtc as in a browser) join a room through the public signalling URL; one publishes a 440 Hz
// tone and a moving picture, the other must receive both. ICE is either what LiveKit offers (direct
// UDP/TCP to the SFU, then TURN) or forced through one TURN URL (relay only).
import { createRequire } from 'node:module';
import type { IceUrl } from './targets.js';

type Rtc = typeof import('@livekit/rtc-node');
let rtcLoaded: Promise<Rtc> | undefined;

/**
 * The SDK, loaded once, its warnings and errors sent to stderr: it logs with pino to stdout at debug
 * level (dist/log.cjs reads pino's `pino` export when first required, then sets the level itself),
 * and `check -o json` owns stdout.
 */
function loadRtc(): Promise<Rtc> {
  return (rtcLoaded ??= (async () => {
    const fromSdk = createRequire(createRequire(import.meta.url).resolve('@livekit/rtc-node'));
    const pinoModule = fromSdk('pino') as { pino: (opts: object, dest?: { write(line: string): void }) => unknown };
    const original = pinoModule.pino;
    const warnings = { write: (line: string) => void ((JSON.parse(line) as { level: number }).level >= 40 && process.stderr.write(line)) };
    pinoModule.pino = (opts: object) => original(opts, warnings);
    try {
      return await import('@livekit/rtc-node');
    } finally {
      pinoModule.pino = original;
    }
  })());
}

export interface CallRequest {
  url: string;
  tokens: { publisher: string; subscriber: string };
  /** Relay only, through this one TURN server (credentials as LiveKit hands them out). */
  relay?: { ice: IceUrl; username: string; credential: string };
  timeoutMs: number;
}

export interface CallResult {
  audioFrames: number;
  /** Loudest sample received: the tone, not silence or concealment. */
  audioPeak: number;
  videoFrames: number;
  ms: number;
}

/** Received audio louder than this is the tone (concealment after loss plays near silence). */
export const TONE_PEAK = 1000;
const SAMPLE_RATE = 48_000;
const WIDTH = 160;
const HEIGHT = 120;

export async function runCall(req: CallRequest): Promise<CallResult> {
  // Loaded here only: the controller never needs the native WebRTC library.
  const rtc = await loadRtc();
  const { Room, RoomEvent, AudioSource, AudioFrame, AudioStream, LocalAudioTrack, VideoSource, VideoFrame, VideoStream, VideoBufferType, LocalVideoTrack, TrackPublishOptions, TrackSource, TrackKind, IceTransportType, ContinualGatheringPolicy, IceServer } = rtc;
  const t0 = Date.now();
  const rtcConfig = req.relay
    ? {
        iceTransportType: IceTransportType.TRANSPORT_RELAY,
        continualGatheringPolicy: ContinualGatheringPolicy.GATHER_ONCE,
        iceServers: [new IceServer({ urls: [req.relay.ice.url], username: req.relay.username, password: req.relay.credential })],
      }
    : undefined;
  const options = { autoSubscribe: true, dynacast: false, ...(rtcConfig ? { rtcConfig } : {}) };
  const publisher = new Room();
  const subscriber = new Room();
  let stop = false;
  const result = { audioFrames: 0, audioPeak: 0, videoFrames: 0 };
  const done = new Promise<void>((resolve) => {
    subscriber.on(RoomEvent.TrackSubscribed, (track: any) => {
      void (async () => {
        if (track.kind === TrackKind.KIND_AUDIO) {
          for await (const frame of new AudioStream(track, SAMPLE_RATE, 1) as AsyncIterable<any>) {
            result.audioFrames++;
            const data: Int16Array = frame.data;
            for (let i = 0; i < data.length; i++) result.audioPeak = Math.max(result.audioPeak, Math.abs(data[i]!));
            if (stop) break;
            if (result.audioPeak > TONE_PEAK && result.videoFrames >= 10) resolve();
          }
        } else if (track.kind === TrackKind.KIND_VIDEO) {
          for await (const _ of new VideoStream(track) as AsyncIterable<unknown>) {
            result.videoFrames++;
            if (stop) break;
            if (result.audioPeak > TONE_PEAK && result.videoFrames >= 10) resolve();
          }
        }
      })().catch(() => {});
    });
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`within ${req.timeoutMs / 1000} s: received ${result.audioFrames} audio frames (peak ${result.audioPeak}) and ${result.videoFrames} video frames`)), req.timeoutMs);
    });
    const media = (async () => {
      await subscriber.connect(req.url, req.tokens.subscriber, options);
      await publisher.connect(req.url, req.tokens.publisher, options);
      const audio = new AudioSource(SAMPLE_RATE, 1);
      const video = new VideoSource(WIDTH, HEIGHT);
      const mic = new TrackPublishOptions();
      mic.source = TrackSource.SOURCE_MICROPHONE;
      const cam = new TrackPublishOptions();
      cam.source = TrackSource.SOURCE_CAMERA;
      await publisher.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack('check-tone', audio), mic);
      await publisher.localParticipant!.publishTrack(LocalVideoTrack.createVideoTrack('check-picture', video), cam);
      void (async () => {
        const samples = SAMPLE_RATE / 100; // 10 ms frames, paced by captureFrame
        const picture = new Uint8Array((WIDTH * HEIGHT * 3) / 2);
        for (let t = 0, n = 0; !stop; n++) {
          const data = new Int16Array(samples);
          for (let i = 0; i < samples; i++, t++) data[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * t) / SAMPLE_RATE));
          await audio.captureFrame(new AudioFrame(data, SAMPLE_RATE, 1, samples));
          if (n % 4 === 0) {
            picture.fill(n % 256, 0, WIDTH * HEIGHT); // a luma ramp: every frame differs
            video.captureFrame(new VideoFrame(picture, WIDTH, HEIGHT, VideoBufferType.I420));
          }
        }
      })().catch(() => {});
      await done;
    })();
    await Promise.race([media, deadline]);
    return { ...result, ms: Date.now() - t0 };
  } finally {
    stop = true;
    clearTimeout(timer);
    await Promise.all([publisher.disconnect().catch(() => {}), subscriber.disconnect().catch(() => {})]);
  }
}

/** Frees the SDK's native side once the command is done with calls (it keeps the process alive). */
export async function disposeCalls(): Promise<void> {
  if (!rtcLoaded) return;
  await (await rtcLoaded).dispose().catch(() => {});
}
