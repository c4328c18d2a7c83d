// readCurrentClosure is the one reader of /run/current-system: the closure
// is the basename of the link's target, and a link that names none is an
// error with a reason (the HostPort turns any error into undefined).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { readCurrentClosure } from '../../src/io/host';
import { tempDir } from '../store/support';

const CLOSURE = '5x2q0jv8m9c1ryd7kz4h6w3lnbf0a8sg-nixos-system-web-01';

describe('readCurrentClosure', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('current-closure');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is the basename of the target, one readlink deep', async () => {
    const link = path.join(dir, 'current-system');
    fs.symlinkSync(`/nix/store/${CLOSURE}`, link);
    expect(await firstValueFrom(readCurrentClosure(link))).toBe(CLOSURE);
  });

  it('errors, naming the link, when the target names no closure or the link is missing', async () => {
    const root = path.join(dir, 'root');
    fs.symlinkSync('/', root);
    await expect(firstValueFrom(readCurrentClosure(root))).rejects.toThrow(`${root} points at "/", which names no closure`);
    const up = path.join(dir, 'up');
    fs.symlinkSync('..', up);
    await expect(firstValueFrom(readCurrentClosure(up))).rejects.toThrow('which names no closure');
    await expect(firstValueFrom(readCurrentClosure(path.join(dir, 'nope')))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
