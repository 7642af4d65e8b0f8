/** The exit codes of `taskloom`. */
export const ExitCode = {
  /** Every task completed. */
  OK: 0,
  /** At least one task failed or was cancelled. */
  TASK_FAILED: 1,
  /** Bad usage or a bad job file: nothing was run. */
  BAD_INPUT: 2,
  /** Interrupted by Ctrl-C (SIGINT). */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM. */
  TERMINATED: 143,
  /**
   * The reader of stdout or stderr went away (`taskloom demo | head -1`): taskloom stops there,
   * quietly. 128 + SIGPIPE, as a shell reports for a program that a broken pipe stopped.
   */
  BROKEN_PIPE: 141,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What stops a command before its end: Ctrl-C (SIGINT), SIGTERM, or the reader of its log going
 * away (SIGPIPE: no such signal is caught, a failed write says so), which stops it as a signal does.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGPIPE';

/** The exit code of a command that a StopSignal stopped. */
export const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, ExitCode>> = {
  SIGINT: ExitCode.INTERRUPTED,
  SIGTERM: ExitCode.TERMINATED,
  SIGPIPE: ExitCode.BROKEN_PIPE,
};
