// Formatting for the dashboard's page, and the one way its scripts set text: as text.

export const $ = (selector) => document.querySelector(selector);

export const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.floor((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatTime(epochMs) {
  return epochMs === null || epochMs === undefined ? '–' : clockTime(epochMs / 1000);
}

/** A time in epoch seconds as a 24-hour clock shows it. */
export function clockTime(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

export function formatPercent(share) {
  return `${decimal.format(share * 100)}%`;
}

/** Sets an element's text, as text, never as markup; untouched when it has not changed. */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}
