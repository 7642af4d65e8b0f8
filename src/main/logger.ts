/** The manager's logger: the user's pino logger, a quiet default on stderr, or silence. */
import { pino, type Logger } from 'pino';

export type { Logger };

/** By default only warnings and errors are logged, to stderr. */
export function resolveLogger(option: Logger | false | undefined): Logger {
  if (option === false) return pino({ enabled: false });
  if (option !== undefined) return option;
  return pino({ name: 'taskloom', level: 'warn' }, pino.destination({ dest: 2, sync: true }));
}

export function isLogger(value: unknown): value is Logger {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Logger).child === 'function' &&
    typeof (value as Logger).warn === 'function' &&
    typeof (value as Logger).level === 'string'
  );
}
