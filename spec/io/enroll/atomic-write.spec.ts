// The cert file replacement: temp file created 0600, fsynced, renamed over
// the target, directory fsynced — in that order — and nothing left behind on
// failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom } from 'rxjs';
import { writeAtomic, writeFileAtomic } from '../../../src/io/enroll/atomic-write';
import { tempDir } from '../http/support';

describe('atomic cert write', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('atomic');
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file 0600 even under a permissive umask, and replaces an existing one', async () => {
    const file = path.join(dir, 'agent-cert.pem');
    const old = process.umask(0);
    try {
      await firstValueFrom(writeAtomic(file, 'one', 0o600));
    } finally {
      process.umask(old);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('one');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.chmodSync(file, 0o644);
    await writeFileAtomic(file, 'two', 0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['agent-cert.pem']);
  });

  it('gives the file the mode the caller names, whatever the umask', async () => {
    const file = path.join(dir, 'ca.pem');
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(file, 'ca', 0o644);
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
  });

  it('fsyncs the temp file before the rename and the directory after it', async () => {
    const file = path.join(dir, 'agent-cert.pem');
    const log: string[] = [];
    const probe = await fs.promises.open(path.join(dir, 'probe'), 'w');
    const FileHandle = Object.getPrototypeOf(probe) as { sync(): Promise<void>; writeFile(d: unknown): Promise<void> };
    await probe.close();
    fs.rmSync(path.join(dir, 'probe'));
    const names = new Map<unknown, string>();
    const realOpen = fs.promises.open.bind(fs.promises);
    jest.spyOn(fs.promises, 'open').mockImplementation(async (p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      const h = await realOpen(p, flags, mode);
      const name = String(p) === dir ? 'dir' : path.basename(String(p)).startsWith('.agent-cert.pem-tmp-') ? 'tmp' : String(p);
      names.set(h, name);
      log.push(`open ${name} ${String(flags)}${mode === undefined ? '' : ' ' + (Number(mode) & 0o777).toString(8)}`);
      return h;
    });
    const wrap = (method: 'sync' | 'writeFile') => {
      const real = FileHandle[method] as (this: unknown, ...a: unknown[]) => Promise<void>;
      jest.spyOn(FileHandle, method).mockImplementation(function (this: unknown, ...args: unknown[]) {
        log.push(`${method} ${names.get(this) ?? '?'}`);
        return real.apply(this, args);
      });
    };
    wrap('sync');
    wrap('writeFile');
    const realRename = fs.promises.rename.bind(fs.promises);
    jest.spyOn(fs.promises, 'rename').mockImplementation(async (a: fs.PathLike, b: fs.PathLike) => {
      log.push(`rename tmp -> ${path.basename(String(b))}`);
      return realRename(a, b);
    });
    await writeFileAtomic(file, 'cert', 0o600);
    expect(log).toEqual(['open tmp wx 600', 'writeFile tmp', 'sync tmp', 'rename tmp -> agent-cert.pem', 'open dir r', 'sync dir']);
  });

  it('leaves the old file and no temp file when the rename fails', async () => {
    const target = path.join(dir, 'agent-cert.pem');
    fs.mkdirSync(target); // renaming a file over a directory fails
    await expect(writeFileAtomic(target, 'new', 0o600)).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(fs.readdirSync(dir)).toEqual(['agent-cert.pem']);
    expect(fs.statSync(target).isDirectory()).toBe(true);
  });

  it('is cold: nothing is written before subscribe', async () => {
    const file = path.join(dir, 'c.pem');
    const write = writeAtomic(file, 'x', 0o600);
    expect(fs.existsSync(file)).toBe(false);
    await firstValueFrom(write);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });
});
