// A nix-darwin host in a temporary directory: the NixOS tree's store,
// profile and /run/current-system, closures shaped like nix-darwin's (an
// `activate` script at the top, `activate-user` in older ones; the stand-in
// of demo/host-tools/activate) and the activate log under var/log.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ActivationConfigInput } from '../../../src/io/activation';
import { fakeHash, HostTree } from './host-tree';

const ACTIVATE = path.resolve(__dirname, '../../../demo/host-tools/activate');

export class DarwinHostTree extends HostTree {
  readonly activateLog: string;

  constructor() {
    super();
    this.activateLog = path.join(this.root, 'var/log/nixfleet-activate.log');
    fs.mkdirSync(path.dirname(this.activateLog), { recursive: true });
  }

  /** A darwin system closure; `scripts` names the activation scripts it has. */
  darwinClosure(name: string, scripts: readonly ('activate' | 'activate-user')[] = ['activate']): string {
    const basename = `${fakeHash(name)}-${name}`;
    const dir = this.storePath(basename);
    fs.mkdirSync(dir, { recursive: true });
    for (const s of scripts) {
      fs.copyFileSync(ACTIVATE, path.join(dir, s));
      fs.chmodSync(path.join(dir, s), 0o755);
    }
    return basename;
  }

  override config(extra: ActivationConfigInput = {}): ActivationConfigInput {
    return super.config({ backend: 'darwin', activateLog: this.activateLog, ...extra });
  }

  /** `leader` when the script ran as the leader of its own session. */
  session(script: 'activate' | 'activate-user'): string {
    return fs.readFileSync(path.join(this.root, 'units', `${script}.session`), 'utf8').trim();
  }

  /** Exit status the script recorded, once it has finished. */
  async finished(script: 'activate' | 'activate-user'): Promise<number> {
    const f = path.join(this.root, 'units', `${script}.status`);
    for (let i = 0; i < 500 && !fs.existsSync(f); i++) await new Promise((r) => setTimeout(r, 10));
    return Number(fs.readFileSync(f, 'utf8').trim());
  }

  activateLogText(): string {
    return fs.existsSync(this.activateLog) ? fs.readFileSync(this.activateLog, 'utf8') : '';
  }
}
