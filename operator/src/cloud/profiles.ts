import type { CloudProfileName } from '../api/types.js';
import { generic } from './generic.js';
import { outscale } from './outscale.js';
import type { CloudProfile } from './profile.js';

export type { CloudProfile, ExternalIPSource } from './profile.js';

export const PROFILES: Readonly<Record<CloudProfileName, CloudProfile>> = { outscale, generic };

export const profileFor = (name: string): CloudProfile | undefined =>
  Object.hasOwn(PROFILES, name) ? PROFILES[name as CloudProfileName] : undefined;
