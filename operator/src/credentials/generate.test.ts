import { describe, expect, it } from 'vitest';
import { generateSecrets, randomAlphanumeric } from './generate.js';

describe('generateSecrets', () => {
  it('makes LiveKit-shaped keys and long, URL/YAML/INI-safe secrets', () => {
    const s = generateSecrets();
    expect(s.livekitApiKey).toMatch(/^API[A-Za-z0-9]{12}$/);
    for (const v of [s.livekitApiSecret, s.turnSharedSecret, s.redisPassword]) {
      expect(v).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes; LiveKit wants >= 32 characters
    }
  });

  it('never repeats (CSPRNG)', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateSecrets().livekitApiSecret));
    expect(seen.size).toBe(200);
  });

  it('draws every alphanumeric character', () => {
    expect(new Set(randomAlphanumeric(5000)).size).toBe(62);
  });
});
