// Credentials are generated here, once, with the platform CSPRNG; render/ only receives them. A layer
// of its own (below render/, beside nothing else) because both the controller (a new cluster's
// Secrets) and the CLI (offline rendering) generate them, and neither should reach into the other.
import { randomBytes, randomInt } from 'node:crypto';

/** Secret values generated once (CSPRNG) and passed to the renderer; stored only in Secrets. */
export interface GeneratedSecrets {
  livekitApiKey: string;
  livekitApiSecret: string;
  turnSharedSecret: string;
  redisPassword: string;
  /** The key the subtitle agents present to the STT pool (moshi-server authorized_ids). */
  sttApiKey: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random alphanumeric string (rejection-free: randomInt is unbiased). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** base64url of n random bytes: URL-, YAML- and INI-safe. */
const randomToken = (bytes: number): string => randomBytes(bytes).toString('base64url');

export function generateSecrets(): GeneratedSecrets {
  return {
    // LiveKit's own CLI makes keys "API" + 12 characters and secrets of 32+ characters.
    livekitApiKey: `API${randomAlphanumeric(12)}`,
    livekitApiSecret: randomToken(32),
    turnSharedSecret: randomToken(32),
    redisPassword: randomToken(32),
    sttApiKey: randomToken(32),
  };
}
