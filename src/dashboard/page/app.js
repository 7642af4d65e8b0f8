// The dashboard's page. It follows one stream of Server-Sent Events (/api/events) whose frames
// carry the stats, the rows on screen and new chart points, and calls the JSON API for a task's
// detail, to cancel a task and to change a priority. Everything the tasks provide (names, errors,
// arguments, results, log lines) is set as text, never as markup (format.js: setText).
import { renderCharts } from './charts.js';
import { closeDetail, isDetailOpen, openDetail, refreshDetail } from './detail.js';
import { $, decimal, formatMs, formatPercent, integer, setText } from './format.js';
import { onOpenDetail, renderRows } from './table.js';

const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 200;

const view = {
  state: '',
  search: '',
  /** The cursor of the page on screen ('' for the first), and those of the pages before it. */
  cursor: '',
  previous: [],
  next: null,
};

/** @type {EventSource | undefined} */
let source;

// The stream ------------------------------------------------------------------------------------

function connect() {
  source?.close();
  const parameters = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (view.state !== '') parameters.set('state', view.state);
  if (view.search !== '') parameters.set('q', view.search);
  if (view.cursor !== '') parameters.set('cursor', view.cursor);
  const stream = new EventSource(`/api/events?${parameters}`);
  source = stream;
  stream.addEventListener('open', () => setConnection('Live', 'live'));
  stream.addEventListener('message', (event) => render(JSON.parse(event.data)));
  stream.addEventListener('end', () => {
    stream.close();
    setConnection('The run has ended: these are its final figures', 'ended');
  });
  stream.addEventListener('error', () => {
    const isClosed = stream.readyState === EventSource.CLOSED;
    setConnection(isClosed ? 'Disconnected: reload the page to try again' : 'Reconnecting…', 'lost');
  });
}

function setConnection(text, mode) {
  const element = $('#connection');
  setText(element, text);
  element.dataset.mode = mode;
}

function render(frame) {
  renderCounts(frame.stats);
  renderCharts(frame.series);
  renderRows(frame.rows);
  renderPager(frame);
  refreshDetail();
}

function renderCounts(stats) {
  for (const element of document.querySelectorAll('[data-count]')) {
    setText(element, integer.format(stats[element.dataset.count]));
  }
  // Waits are measured as tasks start, runs as attempts end: until then there is nothing to show.
  const measured = { waitTime: stats.total - stats.pending, runTime: stats.completed + stats.failed + stats.cancelled };
  for (const element of document.querySelectorAll('[data-timing]')) {
    const [figures, figure] = element.dataset.timing.split('.');
    setText(element, measured[figures] > 0 ? formatMs(stats[figures][figure]) : '–');
  }
  setText($('#throughput'), `${decimal.format(stats.throughput)} tasks/s`);
  setText($('#utilization'), formatPercent(stats.utilization));
}

function renderPager(frame) {
  view.next = frame.next;
  const first = view.previous.length * PAGE_SIZE;
  const shown = frame.rows.length;
  setText(
    $('#page-info'),
    frame.matching === 0
      ? 'No tasks'
      : `${integer.format(first + (shown > 0 ? 1 : 0))}–${integer.format(first + shown)} of ${integer.format(frame.matching)}`,
  );
  $('#previous').disabled = view.previous.length === 0;
  $('#next').disabled = frame.next === null;
}

// Filters and pages -----------------------------------------------------------------------------

function resetPages() {
  view.cursor = '';
  view.previous = [];
}

function startControls() {
  $('#filters').addEventListener('submit', (event) => event.preventDefault());
  $('#state-filter').addEventListener('change', (event) => {
    view.state = event.target.value;
    resetPages();
    connect();
  });
  let searchTimer;
  $('#search').addEventListener('input', (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      view.search = event.target.value.trim();
      resetPages();
      connect();
    }, SEARCH_DELAY_MS);
  });
  $('#next').addEventListener('click', () => {
    if (view.next === null) return;
    view.previous.push(view.cursor);
    view.cursor = view.next;
    connect();
  });
  $('#previous').addEventListener('click', () => {
    if (view.previous.length === 0) return;
    view.cursor = view.previous.pop();
    connect();
  });
  $('#close-detail').addEventListener('click', closeDetail);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && isDetailOpen()) closeDetail();
  });
}

onOpenDetail(openDetail);
startControls();
connect();
