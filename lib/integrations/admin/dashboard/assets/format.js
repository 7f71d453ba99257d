// Formatting of API values for the page; every value ends up in textContent, never in HTML.

const pad = (n) => String(n).padStart(2, '0');

/** 'YYYY-MM-DD HH:MM:SS' in the browser's time zone; '—' for none. */
export function formatTime(value) {
  if (value === null || value === undefined || value === '') return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** A <time> element for `value` (an ISO string or a Date), or a text node '—'. */
export function timeNode(value) {
  if (value === null || value === undefined || value === '') return document.createTextNode('—');
  const node = document.createElement('time');
  const date = new Date(value);
  if (!Number.isNaN(date.getTime())) node.dateTime = date.toISOString();
  node.textContent = formatTime(value);
  return node;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** How a schedule fires: its cron and zone, its interval, or its one-off time. */
export function describeTiming(schedule) {
  if (schedule.cron) {
    const resolved =
      schedule.resolvedCron && schedule.resolvedCron !== schedule.cron
        ? ` → ${schedule.resolvedCron}`
        : '';
    return `cron ${schedule.cron}${resolved} (${schedule.timeZone})`;
  }
  if (schedule.every !== undefined && schedule.every !== null) {
    const every =
      typeof schedule.every === 'number' ? formatDuration(schedule.every) : schedule.every;
    return `every ${every}`;
  }
  if (schedule.at) return `once at ${formatTime(schedule.at)}`;
  return '—';
}

/** 'tenant-paused' while its tenant is paused, else the schedule's own state. */
export function stateOf(schedule) {
  return schedule.tenantPaused ? 'tenant-paused' : schedule.state;
}

/** A pill showing a state-like value, coloured by the class `<prefix>-<value>`. */
export function pill(prefix, value) {
  const node = document.createElement('span');
  node.className = `state ${prefix}-${value}`;
  node.textContent = value;
  return node;
}

/** A small element of `tag` with a class and text. */
export function textNode(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.textContent = text;
  return node;
}
