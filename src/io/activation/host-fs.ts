// File-system reads of the activation pipeline, as cold Observables through
// the one bridge (src/io/from-work.ts): the graph never sees a Promise
// (design §2 rule 6). The running closure is read by src/io/host.ts.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Observable } from 'rxjs';
import { fromWork } from '../from-work';

/** Fully resolved path, or undefined when any part is missing. */
export const realpathOrUndefined = (p: string): Observable<string | undefined> => fromWork(() => fs.realpath(p).catch(() => undefined));

export const exists = (p: string): Observable<boolean> =>
  fromWork(() =>
    fs.lstat(p).then(
      () => true,
      () => false,
    ),
  );

/**
 * profile → `system-<N>-link` (relative to the profile's directory) →
 * `/nix/store/<basename>`. When the second hop is not a link, the first
 * hop's target is the answer (upstream's `profile_matches`).
 */
export const resolveProfile = (profile: string): Observable<string> =>
  fromWork(async () => {
    const hop = await fs.readlink(profile);
    const abs = path.isAbsolute(hop) ? hop : path.join(path.dirname(profile), hop);
    return fs.readlink(abs).catch(() => abs);
  });

/**
 * The system profile's generations, newest first: the targets of its
 * `<name>-<N>-link` links (what `nix-env --list-generations` lists). An
 * unreadable directory is an empty history.
 */
export const profileGenerations = (profile: string): Observable<readonly { readonly generation: number; readonly closure: string }[]> =>
  fromWork(async () => {
    const dir = path.dirname(profile);
    const prefix = `${path.basename(profile)}-`;
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const links = names.flatMap((n) => {
      const m = n.startsWith(prefix) && n.endsWith('-link') ? /^([0-9]+)$/.exec(n.slice(prefix.length, -'-link'.length)) : null;
      return m?.[1] !== undefined ? [{ name: n, generation: Number(m[1]) }] : [];
    });
    const read = await Promise.all(links.map(async (l) => ({ generation: l.generation, closure: await fs.readlink(path.join(dir, l.name)).then(path.basename, () => undefined) })));
    return read.flatMap((g) => (g.closure === undefined ? [] : [{ generation: g.generation, closure: g.closure }])).sort((a, b) => b.generation - a.generation);
  });
