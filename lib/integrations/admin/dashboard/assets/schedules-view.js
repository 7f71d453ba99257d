// The schedules table. Rows are keyed by schedule id and updated in place on every poll, so a
// button that has the keyboard focus stays in the document (rebuilding rows would drop focus).
import { describeTiming, pill, stateOf, textNode, timeNode } from './format.js';

/** A button whose accessible name is its visible text plus the schedule id. */
function actionButton(action, id) {
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.action = action;
  button.append(document.createTextNode(''), textNode('span', 'visually-hidden', ` ${id}`));
  return button;
}

function setLabel(button, text) {
  button.firstChild.textContent = text;
}

export class SchedulesView {
  /**
   * @param {HTMLTableSectionElement} tbody
   * @param {{ toggle(schedule, button): void, trigger(schedule, button): void,
   *           select(schedule, button): void }} actions
   */
  constructor(tbody, actions) {
    this.tbody = tbody;
    this.actions = actions;
    this.rows = new Map();
  }

  /** Shows `schedules` (in the API's order) and marks `selectedId`. */
  render(schedules, selectedId) {
    const ids = new Set(schedules.map((schedule) => schedule.id));
    for (const [id, row] of this.rows) {
      if (ids.has(id)) continue;
      if (row.contains(document.activeElement)) document.getElementById('tenant-title').focus();
      row.remove();
      this.rows.delete(id);
    }
    let previous = null;
    for (const schedule of schedules) {
      let row = this.rows.get(schedule.id);
      if (!row) {
        row = this.createRow(schedule.id);
        this.rows.set(schedule.id, row);
      }
      const expected = previous ? previous.nextSibling : this.tbody.firstChild;
      // Moves only rows out of place: the API keeps ids in order, so existing rows stay put
      // (moving a row would take the keyboard focus away from its buttons).
      if (row !== expected) this.tbody.insertBefore(row, expected);
      this.fill(row, schedule, selectedId);
      previous = row;
    }
  }

  /** Updates one row from a schedule an action answered with. */
  update(schedule, selectedId) {
    const row = this.rows.get(schedule.id);
    if (row) this.fill(row, schedule, selectedId);
  }

  clear() {
    this.tbody.replaceChildren();
    this.rows.clear();
  }

  createRow(id) {
    const row = document.createElement('tr');
    row.dataset.scheduleId = id;
    const name = document.createElement('th');
    name.scope = 'row';
    const cells = ['timing', 'state', 'next', 'last'].map((key) => {
      const cell = document.createElement('td');
      cell.dataset.cell = key;
      return cell;
    });
    const actions = document.createElement('td');
    actions.className = 'actions';
    const toggle = actionButton('toggle', id);
    const trigger = actionButton('trigger', id);
    const select = actionButton('select', id);
    setLabel(trigger, 'Trigger');
    setLabel(select, 'Runs');
    select.setAttribute('aria-controls', 'detail');
    // The row's current schedule is read at click time, so a poll between two clicks is seen.
    toggle.addEventListener('click', () => this.actions.toggle(row.schedule, toggle));
    trigger.addEventListener('click', () => this.actions.trigger(row.schedule, trigger));
    select.addEventListener('click', () => this.actions.select(row.schedule, select));
    actions.append(toggle, trigger, select);
    row.append(name, ...cells, actions);
    return row;
  }

  fill(row, schedule, selectedId) {
    row.schedule = schedule;
    const [name, timing, state, next, last, actions] = row.children;
    name.replaceChildren(
      document.createTextNode(schedule.id),
      textNode('span', 'sub', schedule.handler),
    );
    timing.textContent = describeTiming(schedule);
    const stateNodes = [pill('state', stateOf(schedule))];
    if (schedule.running) stateNodes.push(textNode('span', 'sub', 'running now'));
    if (schedule.parked) stateNodes.push(textNode('span', 'sub', schedule.parked.reason));
    state.replaceChildren(...stateNodes);
    next.replaceChildren(timeNode(schedule.nextFireAt));
    last.replaceChildren(...lastRunNodes(schedule));
    const [toggle] = actions.children;
    setLabel(toggle, schedule.enabled ? 'Pause' : 'Resume');
    const selected = schedule.id === selectedId;
    row.classList.toggle('selected', selected);
    actions.children[2].setAttribute('aria-pressed', String(selected));
  }
}

function lastRunNodes(schedule) {
  if (!schedule.lastStatus) return [document.createTextNode('—')];
  const nodes = [pill('outcome', schedule.lastStatus), document.createTextNode(' ')];
  nodes.push(timeNode(schedule.lastFireAt));
  if (schedule.lastError) nodes.push(textNode('span', 'sub error-text', schedule.lastError));
  return nodes;
}
