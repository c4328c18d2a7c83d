// Components a live switch cannot hot-swap (reference §11.4). When the
// running system and the target resolve to different files for one of
// these, the switch is deferred to the next boot. `init` is deliberately
// absent, as in the upstream runtime revision.
import { concatMap, defaultIfEmpty, filter, from, map, take, zip, type Observable } from 'rxjs';
import { realpathOrUndefined } from './host-fs';

export const SWITCH_INHIBITORS: readonly (readonly [component: string, relativePath: string])[] = [
  ['dbus', 'etc/systemd/system/dbus.service'],
  ['systemd', 'sw/lib/systemd/systemd'],
  ['kernel', 'kernel'],
];

/** The first inhibiting component, or undefined when a live switch is safe. */
export function switchInhibitor(currentSystem: string, targetStorePath: string): Observable<string | undefined> {
  const check = (component: string, rel: string): Observable<string | undefined> =>
    zip(realpathOrUndefined(`${currentSystem}/${rel}`), realpathOrUndefined(`${targetStorePath}/${rel}`)).pipe(
      map(([now, next]) => (now !== undefined && next !== undefined && now !== next ? component : undefined)),
    );
  return from(SWITCH_INHIBITORS).pipe(
    concatMap(([component, rel]) => check(component, rel)),
    filter((c): c is string => c !== undefined),
    // First match wins; take(1) stops the remaining reads.
    take(1),
    defaultIfEmpty(undefined),
  );
}
