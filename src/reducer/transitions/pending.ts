// Pending: only the dispatch acknowledgement moves it (reference §7.2).
// Note the different effect order of the Local and Remote arms.
import * as E from 'fp-ts/Either';
import { illegalForState } from '../errors';
import { appendLog, emit, recordTransition, type StateHandler } from '../types';

export const fromPending: StateHandler = (s, e) => {
  switch (e.kind) {
    case 'LocalActivate': {
      // The event's targetClosure/soakDueAt only bootstrap a record (newPending); step ignores them.
      const next = { ...s, state: 'Activating' as const, currentClosureAtDispatch: e.currentClosureAtDispatch, dispatchAckedAt: e.receivedAt };
      return E.right({
        state: next,
        effects: [
          recordTransition(s, 'Activating', e.receivedAt),
          emit(s, e, true),
          { kind: 'LocalFireSwitch', rolloutId: s.rolloutId, target: s.targetClosure },
        ],
      });
    }
    case 'RemoteDispatchAck': {
      const next = { ...s, state: 'Activating' as const, currentClosureAtDispatch: e.currentClosureAtDispatch, dispatchAckedAt: e.receivedAt };
      return E.right({ state: next, effects: [appendLog(s, e), recordTransition(s, 'Activating', e.receivedAt)] });
    }
    default:
      return E.left(illegalForState(s, e.kind));
  }
};
