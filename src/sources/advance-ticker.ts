// advance_ticker (reference agent-runtime.md §8.1): the soak clock.
//
// Timing rule: AgentAdvanceTick every 5 s, first one 5 s after start (not
// immediately); the reducer runs both soak gates on each.
import { map, takeUntil, type Observable } from 'rxjs';
import type { ReducerInput } from '../reducer/agent';
import type { SourceContext } from './context';
import { ticks } from './time';

export const TICK_INTERVAL_MS = 5_000;

export function advanceTicker(ctx: SourceContext, periodMs: number = TICK_INTERVAL_MS): Observable<ReducerInput> {
  return ticks(ctx, periodMs).pipe(
    takeUntil(ctx.shutdown$),
    map((): ReducerInput => ({ kind: 'AgentAdvanceTick' })),
  );
}
