// What the agent verified before it accepted a dispatch (src/sources/longpoll.ts):
// kept beside the rollout record (and saved with it), so that a switch,
// a resumed switch or a rollback can be traced to CI-signed intent and never
// to something the control plane said on its own (docs/compatibility.md).
import * as t from 'io-ts';
import { Text } from './scalars';
import { opt, req, struct } from './struct';
import { TimestampCodec } from './timestamp';

export const SignedIntent = struct('SignedIntent', {
  /** The closure a verified, fresh rollout manifest names for this machine id. */
  targetClosure: req(Text),
  /** `/run/current-system` as the agent itself read it when it accepted the dispatch (absent: unreadable). */
  previousClosure: opt(Text),
  /** The manifest's `meta.signedAt`. */
  signedAt: req(TimestampCodec),
});
export type SignedIntent = t.TypeOf<typeof SignedIntent>;

/** How a rollback target is known to have run on this host. */
export type RollbackProof =
  /** The agent read it as the running system when it accepted the rollout's signed dispatch. */
  | 'own-record'
  /** Only a CP snapshot names it: the rollout's manifest must verify for this host and the closure must be a generation of the system profile. */
  | 'profile-history'
  /**
   * The recorded pre-dispatch closure is the target that failed (upstream
   * reports the target there when it cannot read the running system): the
   * newest profile generation that is not the failed target is the one to
   * return to, and the closure actually reached is reported.
   */
  | 'previous-generation';
