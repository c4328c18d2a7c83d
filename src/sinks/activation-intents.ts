// LocalFireSwitch / LocalFireRollbackTo → the activation worker's queue.
//
// Overflow policy (capacity in src/streams/graph.ts): a forward intent that
// finds the queue full is answered at once with LocalActivationFailed for its
// rollout, so the host leaves Activating visibly (and the CP sees why)
// instead of waiting forever for a switch that will never run. A rollback
// intent has no event that could report it (Failed accepts only a completed
// rollback), so it is logged as an error.
import type { Timestamp } from '../codecs/timestamp';
import type { ActivationIntent } from '../ports/activation';
import type { Logger } from '../ports/logger';
import type { FireRollback, FireSwitch, ReducerInput } from '../reducer/agent';

export interface IntentSinkDeps {
  readonly offer: (intent: ActivationIntent) => boolean;
  readonly capacity: number;
  readonly feedback: (input: ReducerInput) => void;
  readonly now: () => Timestamp;
  readonly logger: Logger;
}

export function applyActivationEffect(deps: IntentSinkDeps, effect: FireSwitch | FireRollback): void {
  const intent: ActivationIntent =
    effect.kind === 'LocalFireSwitch'
      ? { rolloutId: effect.rolloutId, closure: effect.target, rollback: false, signed: effect.intent, ...(effect.resumed === true ? { resumed: true } : {}), ...(effect.started === true ? { started: true } : {}) }
      : { rolloutId: effect.rolloutId, closure: effect.closure, rollback: true, failedTarget: effect.failedTarget, proof: effect.proof };
  if (deps.offer(intent)) return;
  const fields = { rolloutId: intent.rolloutId, closure: intent.closure, capacity: deps.capacity };
  if (intent.rollback) {
    deps.logger.error('rollback intent lost: activation queue full or stopped', fields);
    return;
  }
  deps.logger.error('switch intent refused: activation queue full or stopped; failing the activation', fields);
  deps.feedback({
    kind: 'HostEvent',
    rolloutId: intent.rolloutId,
    event: {
      kind: 'LocalActivationFailed',
      exitCode: -1,
      stderrTail: `activation queue full (${deps.capacity} intents pending) or agent stopping`,
      failedAt: deps.now(),
      seq: 0,
    },
  });
}
