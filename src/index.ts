// Public API of nixfleet-agent (the package entry, dist/index.js). Test
// harnesses embed these; changes here are breaking changes.
//
// - The host state machine: `step(state, event, policy, now)` → Either<TransitionError, { state, effects }>,
//   `newPending(...)`, the advance-tick gates and rehydration helpers.
// - The codecs for every shape it consumes and produces (io-ts; upstream's exact JSON).
export * from './codecs';
export * from './reducer';
