// Failed: only a completed rollback moves it (reference §7.6). A failed
// rollback (LocalActivationFailed) is illegal here, so the host stays Failed.
import * as E from 'fp-ts/Either';
import type { HostRolloutState } from '../../codecs/host-state';
import { illegalForState } from '../errors';
import { appendLog, emit, recordTransition, type StateHandler } from '../types';

export const fromFailed: StateHandler = (s, e) => {
  switch (e.kind) {
    case 'LocalRollbackCompleted':
    case 'RemoteRollbackComplete': {
      const next: HostRolloutState = {
        ...s,
        state: 'Reverted',
        revertedAt: e.completedAt,
        revertedTo: e.revertedToClosure,
        currentClosure: e.revertedToClosure,
      };
      const rt = recordTransition(s, 'Reverted', e.completedAt);
      return E.right({
        state: next,
        effects:
          e.kind === 'LocalRollbackCompleted'
            ? [emit(s, e, true), rt]
            : // The CP quarantines the closure that failed, so no later rollout re-dispatches it.
              [appendLog(s, e), { kind: 'RemoteInsertQuarantine', channel: s.channel, closure: s.targetClosure }, rt],
      });
    }
    default:
      return E.left(illegalForState(s, e.kind));
  }
};
