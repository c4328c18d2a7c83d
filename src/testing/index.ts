// `nixfleet-agent/testing`: what a harness needs to run agents without a
// host, a network or the wall clock — in-memory ports (each records what
// it was asked), a virtual clock, the dev CP's mirror as an in-memory
// control plane, and a runner for a whole fleet (README "Embedding").
export { FakeActivation, FakeCert, FakeControlPlane, FakeHost, FakeManifests, FakeProbes, manifestSet, MemoryLogger, policyOf, probe, type Call, type LogLine } from './fakes';
export { MemoryQueue, SeqCounters } from './memory-queue';
export { MirrorCp, SharedMirror, type Outcome } from './mirror';
export { VirtualClock } from './virtual-clock';
export { inMemoryPorts, virtualFleet, type FleetAgent, type FleetOptions, type InMemoryPortOptions, type InMemoryPorts, type ProbeRun, type VirtualFleet } from './fleet';
