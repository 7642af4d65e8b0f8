// A task's detail, beside the table: fetched from the JSON API on opening, and again at most once a
// second while the task is live.
import { $, decimal, formatMs, formatTime, setText } from './format.js';

const DETAIL_REFRESH_MS = 1000;

let detailId;
let detailFetchedAt = 0;
let detailIsFinal = false;

/** Fetches the open task's detail again, when it is live and a second has passed. */
export function refreshDetail() {
  if (detailId !== undefined && !detailIsFinal && Date.now() - detailFetchedAt >= DETAIL_REFRESH_MS) void loadDetail(detailId);
}

export function isDetailOpen() {
  return detailId !== undefined;
}

export function openDetail(id) {
  detailId = id;
  detailIsFinal = false;
  $('#detail').hidden = false;
  void loadDetail(id);
}

export function closeDetail() {
  detailId = undefined;
  $('#detail').hidden = true;
}

async function loadDetail(id) {
  detailFetchedAt = Date.now();
  const response = await fetch(`/api/tasks/${encodeURIComponent(id)}`, { headers: { Accept: 'application/json' } });
  if (id !== detailId) return;
  if (!response.ok) {
    setText($('#detail-title'), 'This task is no longer kept');
    return;
  }
  renderDetail(await response.json());
}

function renderDetail(task) {
  const detail = $('#detail');
  const field = (name) => detail.querySelector(`[data-field="${name}"]`);
  detailIsFinal = task.state !== 'pending' && task.state !== 'running';
  setText($('#detail-title'), task.name);
  setText(field('state'), task.state);
  setText(field('id'), task.id);
  setText(field('priority'), String(task.priority));
  setText(field('progress'), `${decimal.format(task.progress)}%`);
  setText(field('attempts'), String(task.attempts));
  setText(field('createdAt'), formatTime(task.createdAt));
  setText(field('startedAt'), formatTime(task.startedAt));
  setText(field('completedAt'), formatTime(task.completedAt));
  setText(field('durationMs'), formatMs(task.durationMs));
  setText(field('parentId'), task.parentId ?? '–');
  setText(field('args'), task.args ?? 'Not kept once the task has finished');
  const isFailed = task.state === 'failed';
  setText(detail.querySelector('[data-heading="outcome"]'), isFailed ? 'Error' : 'Result');
  setText(field('outcome'), isFailed ? (task.error ?? '') : (task.result ?? (task.state === 'completed' ? 'undefined' : '–')));
  fillList(
    field('errors'),
    task.errors.map((error) => ({ text: error })),
  );
  fillList(
    field('logs'),
    task.logs.map((line) => ({ text: `${formatTime(line.time)}  ${line.level.toUpperCase()}  ${line.text}`, level: line.level })),
  );
}

function fillList(list, items) {
  list.replaceChildren(
    ...items.map((item) => {
      const element = document.createElement('li');
      element.textContent = item.text;
      if (item.level !== undefined) element.className = `level-${item.level}`;
      return element;
    }),
  );
  if (items.length === 0) {
    const element = document.createElement('li');
    element.className = 'none';
    element.textContent = 'None';
    list.append(element);
  }
}
