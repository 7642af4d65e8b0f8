#!/usr/bin/env node
/**
 * The `taskloom` command: `taskloom run <jobs>`, `taskloom demo` and `taskloom bench`.
 * See src/cli/program.ts for the commands and their options.
 */
import { CommanderError } from 'commander';
import { createProgram } from './program.js';
import { ExitCode } from './exit-codes.js';

// Once the reader of our output has gone (`taskloom demo | head -1`), a write to it fails with
// EPIPE, emitted as an 'error' event that would end the process with a stack trace. Nothing
// more can be shown to anyone: stop quietly, as a program stopped by SIGPIPE does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.BROKEN_PIPE);
    throw error;
  });
}

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Help and --version end with 0; a usage error has been printed by commander.
  process.exitCode = error.exitCode === 0 ? ExitCode.OK : ExitCode.BAD_INPUT;
}
