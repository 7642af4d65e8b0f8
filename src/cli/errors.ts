/** The errors of the command line: a job file that cannot be run, and bad arguments. */
import { registerErrorClass, TaskloomError } from '../shared/errors.js';

/**
 * A job file that cannot be run. `problems` lists every problem found, each naming the file,
 * the job (its index in a JSON file, its line in an NDJSON file) and the field.
 */
export class JobFileError extends TaskloomError {
  readonly file: string;
  readonly problems: readonly string[];

  constructor(file: string, problems: readonly string[], options?: ErrorOptions) {
    const shown = problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems:\n  ${problems.join('\n  ')}`;
    super(`Invalid job file ${file}: ${shown}`, 'TASKLOOM_INVALID_JOB_FILE', options);
    this.name = 'JobFileError';
    this.file = file;
    this.problems = problems;
  }
}

/** A bad command-line argument that commander cannot check by itself (a missing folder for --out, say). */
export class UsageError extends TaskloomError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'TASKLOOM_USAGE', options);
    this.name = 'UsageError';
  }
}

// Revived as themselves on any thread, and recognised by code by another copy of the package.
registerErrorClass('TASKLOOM_INVALID_JOB_FILE', JobFileError);
registerErrorClass('TASKLOOM_USAGE', UsageError);
