#!/usr/bin/env node
/**
 * The `taskloom` command: `taskloom run <jobs>`, `taskloom demo` and `taskloom bench`.
 * See src/cli/program.ts for the commands and their options.
 */
import { CommanderError } from 'commander';
import { createProgram } from './program.js';
import { ExitCode } from './exit-codes.js';

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Help and --version end with 0; a usage error has been printed by commander.
  process.exitCode = error.exitCode === 0 ? ExitCode.OK : ExitCode.BAD_INPUT;
}
