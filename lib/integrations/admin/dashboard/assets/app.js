// The dashboard's entry: sign-in, the tenant view, actions, and polling every 2 s (paused while
// the tab is hidden). Polling the API works across pods: every pod answers from Redis.
import { ApiError, createApi, itemsOf, paths } from './api.js';
import { formatTime } from './format.js';
import { clearSession, loadSession, loadTenants, saveSession, signIn } from './session.js';
import { SchedulesView } from './schedules-view.js';
import { CircuitsView, DetailView } from './detail-view.js';
import { Poller } from './poller.js';

const POLL_MS = 2000;
const TENANTS_EVERY = 15; // polls between two refreshes of an admin's tenant picker
const LIST_LIMIT = 1000;
const RUNS_LIMIT = 20;

const $ = (id) => document.getElementById(id);
const ui = {
  signInView: $('sign-in-view'),
  form: $('sign-in'),
  key: $('api-key'),
  tenantInput: $('tenant-id'),
  tenantView: $('tenant-view'),
  picker: $('tenant-picker'),
  select: $('tenant-select'),
  title: $('tenant-title'),
  tenantState: $('tenant-state'),
  updatedAt: $('updated-at'),
  pollState: $('poll-state'),
  noSchedules: $('no-schedules'),
  moreSchedules: $('more-schedules'),
  error: $('error'),
  status: $('status'),
  session: $('session'),
  who: $('who'),
};

let session = null; // { key, kind, tenantId, tenants }
let api = null;
let selectedId = null;
let polls = 0;
let errorFromPoll = false;

const schedulesView = new SchedulesView($('schedules').querySelector('tbody'), {
  toggle: (schedule, button) =>
    act(button, async () => {
      const verb = schedule.enabled ? 'pause' : 'resume';
      const updated = await api.post(`${paths.schedule(session.tenantId, schedule.id)}/${verb}`);
      if (updated && updated.id) schedulesView.update(updated, selectedId);
      say(`${verb === 'pause' ? 'Paused' : 'Resumed'} ${schedule.id}.`);
    }),
  trigger: (schedule, button) =>
    act(button, async () => {
      const result = await api.post(`${paths.schedule(session.tenantId, schedule.id)}/trigger`);
      selectedId = schedule.id;
      if (result && result.triggered === false) {
        showError(`${schedule.id} was not triggered: it is ${result.reason}.`);
      } else {
        say(`Triggered ${schedule.id}: its run is shown under Last runs when it ends.`);
      }
    }),
  select: (schedule) => {
    selectedId = selectedId === schedule.id ? null : schedule.id;
    refreshSoon();
  },
});

const detailView = new DetailView($('detail'));
const circuitsView = new CircuitsView($('circuits'));

function say(message) {
  ui.status.textContent = message;
}

function showError(message, fromPoll = false) {
  ui.error.textContent = message;
  errorFromPoll = fromPoll;
}

function clearError() {
  ui.error.textContent = '';
  errorFromPoll = false;
}

function describeError(error) {
  if (!(error instanceof ApiError)) return `Unexpected error: ${error && error.message}`;
  if (error.status === 401) return 'The API key was not accepted (UNAUTHENTICATED).';
  const field = error.field ? ` [${error.field}]` : '';
  return `${error.message} (${error.code}${field})`;
}

/** Runs an action of `button`, once at a time (not disabled: that would take its focus away). */
async function act(button, action) {
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  clearError();
  try {
    await action();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut(describeError(error));
    showError(describeError(error));
  } finally {
    button.removeAttribute('aria-busy');
    refreshSoon();
  }
}

// ---- polling ----

async function fetchSnapshot(tenantId, scheduleId) {
  const base = paths.schedule(tenantId, scheduleId || '_');
  const [list, circuits, detail, runs] = await Promise.all([
    api.get(paths.schedules(tenantId, LIST_LIMIT)),
    api.get(paths.circuits(tenantId)).then(itemsOf, () => null),
    scheduleId ? api.get(`${base}?next=5&last=0`).catch(notFoundAsNull) : null,
    scheduleId ? api.get(`${base}/runs?limit=${RUNS_LIMIT}`).catch(notFoundAsNull) : null,
  ]);
  return { list, circuits, detail, runs };
}

function notFoundAsNull(error) {
  if (error instanceof ApiError && error.status === 404) return null;
  throw error;
}

function render(snapshot) {
  const schedules = itemsOf(snapshot.list);
  if (selectedId && !snapshot.detail) selectedId = null; // removed meanwhile
  schedulesView.render(schedules, selectedId);
  ui.noSchedules.hidden = schedules.length > 0;
  ui.moreSchedules.hidden = !(snapshot.list && snapshot.list.cursor);
  ui.moreSchedules.textContent = `Showing the first ${LIST_LIMIT} schedules.`;
  const paused = schedules.length > 0 && schedules.every((schedule) => schedule.tenantPaused);
  ui.tenantState.hidden = schedules.length === 0;
  ui.tenantState.textContent = paused ? 'Tenant paused' : 'Tenant active';
  ui.tenantState.className = `badge state-${paused ? 'tenant-paused' : 'active'}`;
  if (selectedId && snapshot.detail) detailView.render(snapshot.detail, itemsOf(snapshot.runs));
  else detailView.hide();
  circuitsView.render(snapshot.circuits);
  const now = new Date();
  ui.updatedAt.dateTime = now.toISOString();
  ui.updatedAt.textContent = formatTime(now);
}

async function tick() {
  if (!session || !session.tenantId) return;
  const view = `${session.tenantId}\n${selectedId}`;
  const current = session;
  try {
    if (session.kind === 'admin' && ++polls % TENANTS_EVERY === 0) await refreshTenants();
    const snapshot = await fetchSnapshot(current.tenantId, selectedId);
    // A tenant switch, a new selection or a sign-out meanwhile: that view is polled next.
    if (current === session && view === `${session.tenantId}\n${selectedId}`) {
      render(snapshot);
      if (errorFromPoll) clearError();
    }
  } catch (error) {
    if (current !== session) return;
    if (error instanceof ApiError && error.status === 401) return signOut(describeError(error));
    showError(`Could not refresh: ${describeError(error)}`, true);
  }
}

const poller = new Poller(POLL_MS, tick, (hidden) => {
  ui.pollState.textContent = hidden ? ' (paused while this tab is hidden)' : '';
});

function refreshSoon() {
  poller.now();
}

// ---- session and tenant ----

async function refreshTenants() {
  const tenants = await loadTenants(api);
  session.tenants = tenants;
  fillPicker();
}

function fillPicker() {
  const ids = session.tenants.map((tenant) => tenant.tenantId);
  if (session.tenantId && !ids.includes(session.tenantId)) ids.unshift(session.tenantId);
  const options = ids.map((id) => {
    const option = document.createElement('option');
    option.value = id;
    option.textContent = id;
    return option;
  });
  if (ids.length === 0) {
    const option = document.createElement('option');
    option.value = '';
    option.textContent = 'No tenant has schedules yet';
    options.push(option);
  }
  ui.select.replaceChildren(...options);
  ui.select.value = session.tenantId;
}

function showTenant() {
  ui.title.textContent = session.tenantId ? `Tenant ${session.tenantId}` : 'No tenant';
  ui.tenantState.hidden = true;
  schedulesView.clear();
  detailView.hide();
  circuitsView.render(null);
  ui.updatedAt.textContent = 'never';
  ui.updatedAt.removeAttribute('datetime');
}

function enter(signedIn) {
  session = signedIn;
  api = createApi(session.key);
  saveSession(session);
  selectedId = null;
  ui.signInView.hidden = true;
  ui.tenantView.hidden = false;
  ui.session.hidden = false;
  ui.who.textContent = session.kind === 'admin' ? 'Admin key' : `Tenant key (${session.tenantId})`;
  ui.picker.hidden = session.kind !== 'admin';
  if (session.kind === 'admin') fillPicker();
  showTenant();
  ui.title.focus();
  poller.start();
}

function signOut(message) {
  session = null;
  api = null;
  poller.stop();
  clearSession();
  ui.tenantView.hidden = true;
  ui.session.hidden = true;
  ui.signInView.hidden = false;
  ui.key.value = '';
  say('');
  if (message) showError(message);
  else clearError();
  ui.key.focus();
}

ui.select.addEventListener('change', () => {
  session.tenantId = ui.select.value;
  saveSession(session);
  selectedId = null;
  showTenant();
  refreshSoon();
});

$('sign-out').addEventListener('click', () => signOut(null));

for (const [id, verb] of [
  ['pause-tenant', 'pause'],
  ['resume-tenant', 'resume'],
]) {
  const button = $(id);
  button.addEventListener('click', () =>
    act(button, async () => {
      const result = await api.post(`${paths.tenant(session.tenantId)}/${verb}`);
      const count = result && typeof result.schedules === 'number' ? result.schedules : '?';
      say(
        `${verb === 'pause' ? 'Paused' : 'Resumed'} tenant ${session.tenantId} (${count} schedules).`,
      );
    }),
  );
}

ui.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError();
  for (const input of [ui.key, ui.tenantInput]) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
  const submit = ui.form.querySelector('button[type="submit"]');
  submit.setAttribute('aria-busy', 'true');
  try {
    enter(await signIn(ui.key.value.trim(), ui.tenantInput.value.trim()));
  } catch (error) {
    const aboutTenant =
      error instanceof ApiError &&
      (error.field === 'tenantId' || error.code === 'TENANT_FORBIDDEN');
    const target = aboutTenant ? ui.tenantInput : ui.key;
    target.setAttribute('aria-invalid', 'true');
    target.setAttribute('aria-describedby', 'error');
    showError(describeError(error));
    target.focus();
  } finally {
    submit.removeAttribute('aria-busy');
  }
});

const saved = loadSession();
if (saved) {
  signIn(saved.key, saved.tenantId).then(enter, (error) => signOut(describeError(error)));
}
