// The verified manifests the agent reducer reads: only what policy lookup
// needs (reference agent-runtime.md §5.4), so any verified fleet.resolved
// fits. Defined in the codecs, which the manifest port may import too.
export type { ManifestSet, PolicySource } from '../codecs/policy';
