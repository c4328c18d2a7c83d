import * as fs from 'node:fs';
import { AGENT, HostBed } from './bed/host';
it('debug', async () => {
  const bed = await HostBed.start();
  try {
    await bed.waitFor('active', () => (bed.unit(AGENT).ActiveState === 'active' ? true : undefined));
    const r = bed.release('gen2-agent');
    await bed.waitState(r, 'Converged', 180_000);
    fs.writeFileSync('/tmp/debug-journal.txt', bed.journal(AGENT).map((l) => `${l.pid} ${l.priority} ${l.message}`).join('\n') + '\n---\n' + bed.c.exec(['journalctl', '--no-pager', '-o', 'short-precise']).stdout);
  } finally {
    await bed.destroy();
  }
});
