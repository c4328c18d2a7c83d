// The daemon's commit of one reducer turn: the events the turn queues (its
// effects, applied through the synchronous store ports) and the rollout
// records it leaves (for `status` and warm restarts), in one SQLite
// transaction — a SIGKILL between the two can never leave a record ahead of
// its events. The graph calls it once per turn (AgentGraphConfig.commitTurn).
//
// When the disk refuses the commit, the outbox keeps the turn's events in
// memory (src/io/store/outbox.ts) and the records stay unsaved: the next turn
// that commits writes them, because they are compared with the last records
// that were committed, not with the previous turn's.
import { HostRolloutState } from '../codecs/host-state';
import { SignedIntent } from '../codecs/intent';
import { errorMessage } from '../ports/error-text';
import type { Logger } from '../ports/logger';
import type { RolloutRecordRow } from '../ports/store';
import type { AgentStore, Outbox } from '../io/store';
import { own, type AgentState } from '../reducer/agent';
import type { CommitTurn } from '../streams/graph';

/** The records of `state` as store rows, each with the signed intent that binds it (a CP-made record has none). */
export function recordRows(state: AgentState, updatedAt: string): RolloutRecordRow[] {
  return Object.values(state.hosts).map((h) => {
    const intent = own(state.intents, h.rolloutId);
    const row = { rolloutId: h.rolloutId, record: JSON.stringify(HostRolloutState.encode(h)), updatedAt };
    return intent === undefined ? row : { ...row, signedIntent: JSON.stringify(SignedIntent.encode(intent)) };
  });
}

export function turnCommitter(outbox: Outbox, store: AgentStore, logger: Logger, clock: () => string): CommitTurn {
  // The records as last committed; a failed commit leaves it, so a later turn saves again.
  let committed: AgentState['hosts'] | undefined;
  return (state, applyEffects) => {
    let saved = state.hosts === committed;
    try {
      outbox.atomically(() => {
        applyEffects();
        if (saved) return;
        // A failed save must not roll back the events just queued.
        try {
          store.saveRollouts(recordRows(state, clock()));
          saved = true;
        } catch (err) {
          logger.error('could not save the rollout records', { error: errorMessage(err) });
        }
      });
      if (saved) committed = state.hosts;
    } catch (err) {
      logger.error('could not commit this turn', { error: errorMessage(err) });
    }
  };
}
