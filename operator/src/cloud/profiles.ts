import { generic } from './generic.js';
import { outscale } from './outscale.js';
import type { CloudProfile, CloudProfileName } from './profile.js';

export type { CloudProfile, ExternalIPSource } from './profile.js';

export const PROFILES: Readonly<Record<CloudProfileName, CloudProfile>> = { outscale, generic };

export const profileFor = (name: string): CloudProfile | undefined =>
  Object.hasOwn(PROFILES, name) ? PROFILES[name as CloudProfileName] : undefined;
