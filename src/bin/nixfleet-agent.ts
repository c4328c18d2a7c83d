#!/usr/bin/env node
// Entry point of the `nixfleet-agent` command.
import { asyncScheduler, ReplaySubject } from 'rxjs';
import { fromEpochMillis } from '../codecs/timestamp';
import { parseInvocation, EXIT_FAILURE } from '../cli/program';
import type * as ExportQueueModule from '../cli/export-queue';
import type * as StatusModule from '../cli/status';
import { runDaemon } from '../daemon/run';
import { VERSION as version } from '../version';

async function main(): Promise<number> {
  const inv = parseInvocation(process.argv.slice(2), version);
  switch (inv.kind) {
    case 'exit':
      process.stdout.write(inv.stdout);
      process.stderr.write(inv.stderr);
      return inv.code;
    case 'status': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { readStatus, renderStatus, statusJson, statusError } = require('../cli/status') as typeof StatusModule;
      let report;
      try {
        report = readStatus(inv.stateDir);
      } catch (err) {
        // One line, no stack trace: the file, why, what to do.
        process.stderr.write(statusError(err));
        return EXIT_FAILURE;
      }
      process.stdout.write(inv.json ? statusJson(report, inv.stateDir) : renderStatus(report, inv.stateDir));
      return 0;
    }
    case 'export-queue': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runExportQueue } = require('../cli/export-queue') as typeof ExportQueueModule;
      const clock = () => fromEpochMillis(asyncScheduler.now());
      return runExportQueue(inv.stateDir, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), clock });
    }
    case 'dev-cp': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runDevCpCli } = require('../devcp/cli') as { runDevCpCli(args: readonly string[]): Promise<number> };
      return runDevCpCli(inv.args);
    }
    case 'run': {
      // Handlers first: a signal during a long first-boot enrollment must stop it cleanly.
      const signals = new ReplaySubject<NodeJS.Signals>(1);
      process.once('SIGTERM', () => signals.next('SIGTERM'));
      process.once('SIGINT', () => signals.next('SIGINT'));
      const daemon = await runDaemon(inv.options, process.env, signals);
      return daemon.done;
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`nixfleet-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT_FAILURE);
  },
);
