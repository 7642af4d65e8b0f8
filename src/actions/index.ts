export { downloadFile, MAX_REDIRECTIONS } from './download-file.js';
export { reminderTimer } from './reminder-timer.js';
export { periodicHealthCheck } from './periodic-health-check.js';
export { batchWebSearch, SEARCH_URL_VARIABLE } from './batch-web-search.js';
export { actions } from './handlers.js';
export {
  HttpStatusError,
  HttpRequestError,
  HttpTimeoutError,
  IncompleteBodyError,
  BodyTooLargeError,
  MissingSearchEndpointError,
  RedirectLoopError,
} from './errors.js';

export type { DownloadFileOptions, DownloadFileResult } from './download-file.js';
export type { ReminderTimerOptions, ReminderTimerResult } from './reminder-timer.js';
export type { PeriodicHealthCheckOptions, PeriodicHealthCheckResult, HealthCheckRecord } from './periodic-health-check.js';
export type { BatchWebSearchOptions, BatchWebSearchResult, SearchQueryResult, SearchHit } from './batch-web-search.js';
export type { BuiltInActions } from './handlers.js';
