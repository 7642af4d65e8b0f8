/** `--dashboard [port]`: the run's dashboard, on 127.0.0.1, its URL printed once at start. */
import { InvalidArgumentError } from 'commander';
import type { Dashboard, DashboardOptions } from '../dashboard/options.js';
import { errorMessage } from '../shared/errors.js';
import { UsageError } from './errors.js';

/** What commander makes of `--dashboard [port]`: true without a port. */
export type DashboardFlag = number | true | undefined;

/** Parses the port of `--dashboard [port]`: 0 to 65535, 0 picking a free one. */
export function parseDashboardPort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return port;
}

/**
 * Serves the dashboard of `manager` (a TaskManager, or a distributed worker's) and prints its
 * URL, with the token, to stderr (stdout may hold a JSON document). The manager closes it when it
 * stops, at the end of the run.
 */
export async function openDashboard(
  manager: { serveDashboard(options: DashboardOptions): Promise<Dashboard> },
  flag: number | true,
): Promise<void> {
  const port = flag === true ? 0 : flag;
  try {
    const dashboard = await manager.serveDashboard({ port });
    process.stderr.write(`Dashboard: ${dashboard.url}\n`);
  } catch (error) {
    throw new UsageError(`option --dashboard: could not serve the dashboard on 127.0.0.1 port ${port}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
