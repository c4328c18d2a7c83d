// The backend a config names. Kept apart from backend.ts (the interface) so
// the backends import the interface without a cycle.
import type { PlatformBackend } from './backend';
import type { ActivationConfig } from './config';
import { darwinBackend } from './darwin';
import { nixosBackend } from './nixos';

export const platformBackend = (cfg: ActivationConfig): PlatformBackend => (cfg.backend === 'darwin' ? darwinBackend : nixosBackend);
