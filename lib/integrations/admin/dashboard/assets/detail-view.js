// The selected schedule: its facts, next fire times (GET .../:id?next=5) and last runs
// (GET .../:id/runs), and the circuits of the tenant's HTTP targets.
import { describeTiming, formatDuration, pill, stateOf, textNode, timeNode } from './format.js';

function fact(facts, term, value) {
  const dd = document.createElement('dd');
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value;
  facts.append(textNode('dt', '', term), dd);
}

export class DetailView {
  constructor(root) {
    this.root = root;
    this.title = root.querySelector('#detail-title');
    this.facts = root.querySelector('#detail-facts');
    this.upcoming = root.querySelector('#upcoming');
    this.runs = root.querySelector('#runs tbody');
    this.noRuns = root.querySelector('#no-runs');
  }

  hide() {
    this.root.hidden = true;
  }

  /** `description`: the detail answer; `runs`: the runs, newest first. */
  render(description, runs) {
    const schedule = description.schedule || description;
    this.root.hidden = false;
    this.title.textContent = `Schedule ${schedule.id}`;
    const facts = document.createDocumentFragment();
    fact(facts, 'Handler', schedule.handler);
    fact(facts, 'Timing', describeTiming(schedule));
    fact(facts, 'State', pill('state', stateOf(schedule)));
    const counters = description.counters;
    if (counters) {
      fact(facts, 'Runs', String(counters.runs));
      fact(facts, 'Failures', String(counters.failures));
      fact(facts, 'Skipped fire times', String(counters.skipped));
    }
    fact(facts, 'Updated', timeNode(schedule.updatedAt));
    this.facts.replaceChildren(facts);

    const upcoming = description.nextFires || description.upcoming || [];
    this.upcoming.replaceChildren(
      ...(upcoming.length
        ? upcoming.map((fire) => {
            const item = document.createElement('li');
            item.append(timeNode(fire.fireTime || fire));
            if (fire.dueAt && fire.dueAt !== fire.fireTime) {
              item.append(document.createTextNode(' (due '), timeNode(fire.dueAt), ')');
            }
            return item;
          })
        : [textNode('li', 'empty', 'None: nothing is going to fire while it is not active.')]),
    );

    this.runs.replaceChildren(...runs.map(runRow));
    this.noRuns.hidden = runs.length > 0;
  }
}

function runRow(run) {
  const row = document.createElement('tr');
  row.dataset.sequence = String(run.sequence);
  const cells = [
    textNode('td', '', String(run.sequence)),
    cellOf(timeNode(run.fireTime)),
    textNode('td', '', String(run.attempt)),
    cellOf(pill('outcome', run.status)),
    cellOf(timeNode(run.startedAt)),
    textNode('td', '', formatDuration(run.durationMs)),
    textNode('td', 'error-text', run.error || ''),
  ];
  row.append(...cells);
  return row;
}

function cellOf(node) {
  const cell = document.createElement('td');
  cell.append(node);
  return cell;
}

export class CircuitsView {
  constructor(root) {
    this.root = root;
    this.body = root.querySelector('tbody');
  }

  /** `circuits`: a list, or null when the service has no HTTP targets. Shown when not empty. */
  render(circuits) {
    this.root.hidden = !circuits || circuits.length === 0;
    if (this.root.hidden) return;
    this.body.replaceChildren(
      ...circuits.map((circuit) => {
        const row = document.createElement('tr');
        row.append(
          textNode('th', '', circuit.host),
          cellOf(pill('circuit', circuit.state)),
          textNode('td', '', String(circuit.consecutiveFailures)),
          cellOf(timeNode(circuit.openedAt)),
          cellOf(timeNode(circuit.retryAt)),
        );
        row.firstChild.scope = 'row';
        return row;
      }),
    );
  }
}
