// The manifest cache's temp files: a random name, created exclusively (a
// symlink planted at the name is never followed), 0600 before any byte is
// written, fsynced and renamed into place. The old name `<file>.tmp-<pid>-<n>`
// was guessable and opened with 'w', so a planted symlink overwrote its target.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { fsManifestCacheStore } from '../../src/io/manifest-files';
import { tempDir } from '../store/support';

const bytes = (s: string) => new TextEncoder().encode(s);
// The module object itself (what the adapter calls through), not an import-star copy whose properties cannot be spied on.
const crypto = jest.requireActual<typeof import('node:crypto')>('node:crypto');

describe('fsManifestCacheStore writes', () => {
  let root: string;
  let stateDir: string;
  let victim: string;
  beforeEach(() => {
    root = tempDir('cache');
    stateDir = path.join(root, 'state');
    fs.mkdirSync(path.join(stateDir, 'fleet'), { recursive: true });
    victim = path.join(root, 'victim');
    fs.writeFileSync(victim, 'precious', { mode: 0o644 });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const write = (rel: string, text: string) => firstValueFrom(fsManifestCacheStore(stateDir).write(rel, bytes(text)));

  it('ignores a symlink planted at the old guessable temp name', async () => {
    const file = path.join(stateDir, 'fleet/fleet.resolved.json');
    for (let n = 0; n < 4; n++) fs.symlinkSync(victim, `${file}.tmp-${process.pid}-${n}`);
    await write('fleet/fleet.resolved.json', '{"fleet":1}');
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"fleet":1}');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('never follows a symlink at the temp name it picks: the exclusive create fails and the target is untouched', async () => {
    // Pin the "random" part so the test knows the name in advance, as an attacker cannot.
    jest.spyOn(crypto, 'randomBytes').mockImplementation(() => Buffer.alloc(6, 0xab));
    const file = path.join(stateDir, 'fleet/fleet.resolved.json');
    const tmp = path.join(stateDir, 'fleet', `.fleet.resolved.json-tmp-${'ab'.repeat(6)}`);
    fs.symlinkSync(victim, tmp);
    await expect(write('fleet/fleet.resolved.json', 'attacker-chosen bytes never land')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.statSync(victim).mode & 0o777).toBe(0o644);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('picks a fresh random temp name for each write and leaves none behind', async () => {
    const spy = jest.spyOn(crypto, 'randomBytes');
    await write('rollouts/stable@a.json', 'one');
    await write('rollouts/stable@a.json', 'two');
    expect(spy).toHaveBeenCalledTimes(2);
    expect(fs.readdirSync(path.join(stateDir, 'rollouts'))).toEqual(['stable@a.json']);
    expect(fs.readFileSync(path.join(stateDir, 'rollouts/stable@a.json'), 'utf8')).toBe('two');
  });

  it('refuses a path that leaves the state dir (a rollout id is free text from the CP)', async () => {
    await expect(write('rollouts/../../victim', 'x')).rejects.toThrow('manifest cache path "rollouts/../../victim" leaves the state dir');
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    await expect(firstValueFrom(fsManifestCacheStore(stateDir).read('../victim'))).rejects.toThrow('leaves the state dir');
  });
});
