/** What the dashboard reads and changes of a manager: handed over by `TaskManager.serveDashboard`. */
import type { TaskLogs } from '../main/task-logs.js';
import type { TaskTable } from '../main/task-table.js';
import type { Dashboard } from './options.js';

export interface DashboardSource {
  /** The manager's records, counts, timing figures and change counter, read only. */
  readonly table: TaskTable;
  readonly logs: TaskLogs;
  /** `manager.cancelTask`. */
  cancel(id: string): boolean;
  /** `manager.setPriority`. */
  setPriority(id: string, priority: number): boolean;
  /** The dashboard has closed. */
  onClosed(dashboard: Dashboard): void;
}
