// Activating and Deferred: the activation outcome (reference §7.3, §7.4).
import * as E from 'fp-ts/Either';
import type { EventOf } from '../../codecs/events';
import type { HostRolloutState } from '../../codecs/host-state';
import { illegalForState } from '../errors';
import { appendLog, emit, recordTransition, resetProbeCache, rollbackIfPolicy, type StateHandler, type StepResult } from '../types';

type Completed = EventOf<'LocalActivationCompleted'> | EventOf<'RemoteActivationCompleted'>;

// Shared by Activating and Deferred. Exit code and observed closure are not
// checked, and the probe-timer anchors are not reset (only the probe map is).
function completed(s: HostRolloutState, e: Completed): StepResult {
  const next: HostRolloutState = {
    ...s,
    state: 'Soaking',
    activationCompletedAt: e.completedAt,
    currentClosure: e.observedCurrentClosure,
    probes: {},
  };
  const rt = recordTransition(s, 'Soaking', e.completedAt);
  return E.right({
    state: next,
    effects: e.kind === 'LocalActivationCompleted' ? [resetProbeCache(s), emit(s, e, true), rt] : [appendLog(s, e), rt],
  });
}

export const fromActivating: StateHandler = (s, e, policy) => {
  switch (e.kind) {
    case 'LocalActivationStarted':
    case 'RemoteActivationStarted':
      return E.right({
        state: { ...s, activationStartedAt: e.startedAt },
        effects: [e.kind === 'LocalActivationStarted' ? emit(s, e, true) : appendLog(s, e)],
      });
    case 'LocalActivationCompleted':
    case 'RemoteActivationCompleted':
      return completed(s, e);
    case 'LocalActivationDeferred':
    case 'RemoteActivationDeferred': {
      // No timestamp is stamped: the deferral is visible only as the state.
      const rt = recordTransition(s, 'Deferred', e.deferredAt);
      return E.right({
        state: { ...s, state: 'Deferred' },
        effects: [e.kind === 'LocalActivationDeferred' ? emit(s, e, true) : appendLog(s, e), rt],
      });
    }
    case 'LocalActivationFailed':
    case 'RemoteActivationFailed': {
      // The only place step() reads the policy argument.
      const next: HostRolloutState = {
        ...s,
        state: 'Failed',
        activationFailedAt: e.failedAt,
        failedAt: e.failedAt,
        policyApplied: policy.onHealthFailure,
      };
      const rt = recordTransition(s, 'Failed', e.failedAt);
      return E.right({
        state: next,
        effects:
          e.kind === 'LocalActivationFailed'
            ? [emit(s, e, true), rt, ...rollbackIfPolicy(s, policy.onHealthFailure)]
            : [appendLog(s, e), rt],
      });
    }
    default:
      return E.left(illegalForState(s, e.kind));
  }
};

export const fromDeferred: StateHandler = (s, e) => {
  switch (e.kind) {
    case 'LocalActivationCompleted':
    case 'RemoteActivationCompleted':
      return completed(s, e);
    case 'LocalActivationFailed':
    case 'RemoteActivationFailed': {
      // Unlike Activating: no policyApplied and never a rollback (UNCERTAIN in
      // the reference; we follow upstream's code, see spec/reducer).
      const next: HostRolloutState = { ...s, state: 'Failed', activationFailedAt: e.failedAt, failedAt: e.failedAt };
      const rt = recordTransition(s, 'Failed', e.failedAt);
      return E.right({
        state: next,
        effects: [e.kind === 'LocalActivationFailed' ? emit(s, e, true) : appendLog(s, e), rt],
      });
    }
    default:
      return E.left(illegalForState(s, e.kind));
  }
};
