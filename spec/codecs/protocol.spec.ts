// The facts both ends build on: what the dev CP writes, the agent reads back.
import { rolloutIdOf } from '../../src/codecs/artifacts';
import { LIVE_STATES, rolloutChannel, rolloutChannelRef, rolloutIdFor, TERMINAL_STATES } from '../../src/codecs/protocol';
import { HOST_STATES } from '../../src/codecs/scalars';
import { looksLikeRolloutId } from '../../src/devcp/fleet';

describe('host state classes', () => {
  it('split HOST_STATES in two: every state is live or terminal, none is both', () => {
    expect([...LIVE_STATES, ...TERMINAL_STATES].sort()).toEqual([...HOST_STATES].sort());
    expect([...LIVE_STATES].filter((s) => TERMINAL_STATES.has(s))).toEqual([]);
  });

  it('answer for any text: an absent state is neither', () => {
    expect([LIVE_STATES.has(''), TERMINAL_STATES.has('')]).toEqual([false, false]);
  });
});

describe('rollout ids', () => {
  const commit = '0123456789abcdef0123456789abcdef01234567';

  it('split back into the channel and the ref they were built from', () => {
    const id = rolloutIdFor('stable', commit);
    expect(id).toBe(`stable@${commit}`);
    expect([rolloutChannel(id), rolloutChannelRef(id)]).toEqual(['stable', commit]);
  });

  it('are what the agent derives from a manifest, and what the CP route accepts', () => {
    expect(rolloutIdOf({ channel: 'edge-1', channelRef: commit })).toBe(rolloutIdFor('edge-1', commit));
    expect(looksLikeRolloutId(rolloutIdFor('edge-1', commit))).toBe(true);
  });

  it('without an "@" are all channel (the specs\' bare ids such as "r1")', () => {
    expect([rolloutChannel('r1'), rolloutChannelRef('r1')]).toEqual(['r1', '']);
  });
});
