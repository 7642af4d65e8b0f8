export { DistributedTaskManager } from './manager.js';
export { packageTask } from './package-task.js';
export { MAX_PRIORITY, MIN_PRIORITY } from './priority.js';
export { RedisUnavailableError, MissingDependencyError, ModuleUnavailableError } from '../shared/errors.js';

export type { DistributedTaskManagerOptions } from './options.js';
export type { DistributedTask } from './snapshot.js';
