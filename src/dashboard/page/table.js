// The table of tasks: one row per task on screen, kept and updated in place, and the actions on
// them (cancel, change a priority) through the JSON API.
import { $, formatMs, formatTime, setText } from './format.js';

const tbody = $('#tasks tbody');
/** Each row's elements, by row. */
const rowParts = new WeakMap();
/** Opens a task's detail: set by the page. */
let openDetail = () => undefined;

/** Tells the table what a click on a task's name does. */
export function onOpenDetail(open) {
  openDetail = open;
}

function cell(row, className) {
  const element = document.createElement('td');
  if (className !== undefined) element.className = className;
  row.append(element);
  return element;
}

function createRow(id) {
  const row = document.createElement('tr');
  row.dataset.id = id;

  const name = document.createElement('button');
  name.type = 'button';
  name.className = 'task-name';
  name.addEventListener('click', () => openDetail(id));
  cell(row, 'name').append(name);

  const state = document.createElement('span');
  state.className = 'state';
  cell(row).append(state);

  const priority = cell(row, 'priority');
  const priorityText = document.createElement('span');
  const form = document.createElement('form');
  form.className = 'priority-form';
  const input = document.createElement('input');
  input.type = 'number';
  input.step = 'any';
  input.required = true;
  const set = document.createElement('button');
  set.type = 'submit';
  set.textContent = 'Set';
  form.append(input, set);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void changePriority(id, Number(input.value));
    input.blur();
  });
  priority.append(priorityText, form);

  const bar = document.createElement('div');
  bar.className = 'progress';
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  const fill = document.createElement('div');
  fill.className = 'progress-fill';
  bar.append(fill);
  const progressText = document.createElement('span');
  progressText.className = 'progress-text';
  const progress = document.createElement('div');
  progress.className = 'progress-cell';
  progress.append(bar, progressText);
  cell(row).append(progress);

  cell(row, 'number');
  cell(row, 'time');
  cell(row, 'number');
  cell(row, 'error');

  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'cancel';
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => void cancelTask(id));
  cell(row, 'actions').append(cancel);

  rowParts.set(row, { name, state, priorityText, form, input, set, bar, fill, progressText, cancel });
  return row;
}

function updateRow(row, task) {
  const { name, state, priorityText, form, input, set, bar, fill, progressText, cancel } = rowParts.get(row);
  const cells = row.children;
  const isLive = task.state === 'pending' || task.state === 'running';
  setText(name, task.name);
  setText(state, task.state);
  state.className = `state state-${task.state}`;
  row.className = `row-${task.state}`;

  const isPending = task.state === 'pending';
  form.hidden = !isPending;
  priorityText.hidden = isPending;
  setText(priorityText, String(task.priority));
  if (document.activeElement !== input) input.value = String(task.priority);
  input.setAttribute('aria-label', `Priority of ${task.name}`);
  set.setAttribute('aria-label', `Set the priority of ${task.name}`);

  bar.hidden = task.state !== 'running';
  bar.setAttribute('aria-valuenow', String(task.progress));
  bar.setAttribute('aria-label', `Progress of ${task.name}`);
  fill.style.width = `${Math.min(100, Math.max(0, task.progress))}%`;
  setText(progressText, task.state === 'running' ? `${Math.round(task.progress)}%` : '');

  setText(cells[4], String(task.attempts));
  setText(cells[5], formatTime(task.startedAt));
  setText(cells[6], formatMs(task.durationMs));
  setText(cells[7], task.error ?? '');
  cells[7].title = task.error ?? '';

  cancel.hidden = !isLive;
  cancel.setAttribute('aria-label', `Cancel ${task.name}`);
}

export function renderRows(tasks) {
  const existing = new Map();
  for (const row of tbody.children) existing.set(row.dataset.id, row);
  let before = tbody.firstElementChild;
  for (const task of tasks) {
    let row = existing.get(task.id);
    if (row === undefined) row = createRow(task.id);
    else existing.delete(task.id);
    updateRow(row, task);
    if (row !== before) tbody.insertBefore(row, before);
    else before = before.nextElementSibling;
  }
  for (const row of existing.values()) row.remove();
  $('#empty').hidden = tasks.length > 0;
}

async function post(path, body) {
  const init = { method: 'POST', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.ok) {
    showNotice('');
    return;
  }
  const answer = await response.json().catch(() => ({ error: response.statusText }));
  showNotice(answer.error ?? `The dashboard answered ${response.status}`);
}

function cancelTask(id) {
  return post(`/api/tasks/${encodeURIComponent(id)}/cancel`);
}

function changePriority(id, priority) {
  return post(`/api/tasks/${encodeURIComponent(id)}/priority`, { priority });
}

function showNotice(text) {
  const notice = $('#notice');
  setText(notice, text);
  notice.hidden = text === '';
}
