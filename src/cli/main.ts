/**
 * The `weir` command: dist/cli/bin.js in the built package, bin/weir.js (through tsx)
 * in a checkout.
 *
 * Adding a subcommand = one import and one entry in SUBCOMMANDS: each module exports a
 * `(program, io) => void` that registers its commander command(s). Registration must
 * stay cheap: a command imports what it runs inside its action, so `weir --help` and
 * `weir checkpoints …` start without loading the runtime.
 *
 * Exit codes: 0 ok; 1 the command ran and found a problem (e.g. verify) or a runtime
 * failure; 2 usage or configuration error (one clear line on stderr).
 */
import { Command, CommanderError } from 'commander';
import { WeirError, ConfigError, errorMessage } from '../util/errors.ts';
import { registerCheckpointsCommand } from './checkpoints-command.ts';
import { registerInitCommand } from './init.ts';
import { registerRunCommand } from './run.ts';
import type { CliIo } from './io.ts';

export type { CliIo } from './io.ts';

const SUBCOMMANDS: readonly ((program: Command, io: CliIo) => void)[] = [
  registerInitCommand,
  registerRunCommand,
  registerCheckpointsCommand,
];

/** Exit code for a failure that is the user's input or configuration. */
export const EXIT_USAGE = 2;

export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = new Command('weir')
    .description('stateful stream processing for TypeScript: keyed state in an embedded LSM tree, incremental checkpoints')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(s),
    });
  for (const register of SUBCOMMANDS) register(program, io);
  io.exitCode = 0;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return io.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are answers; help shown because a command is missing is a usage error
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      return EXIT_USAGE; // commander already printed the message
    }
    io.err(`weir: ${errorMessage(err)}\n`);
    if (err instanceof ConfigError) return EXIT_USAGE;
    if (!(err instanceof WeirError) && process.env['WEIR_DEBUG']) io.err(`${(err as Error).stack ?? ''}\n`);
    return 1;
  }
}

function processIo(): CliIo {
  // `weir checkpoints inspect … | head`: a closed pipe ends the output, not the process with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    exitCode: 0,
  };
}
