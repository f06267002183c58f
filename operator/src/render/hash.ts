import { createHash } from 'node:crypto';

/** Short, stable digest of rendered configuration: put on pod templates so a change rolls the pods. */
export const configHash = (...parts: string[]): string =>
  createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
