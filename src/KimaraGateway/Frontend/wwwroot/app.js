// Kimara Gateway reference client: plain JavaScript over the gateway's public API, no framework, no CDN.
'use strict';

// The app is served at <base>/app/, so the API lives at <base>: this keeps working under a reverse-proxy path prefix.
const base = location.pathname.slice(0, location.pathname.lastIndexOf('/app/') + 1);
const $ = (id) => document.getElementById(id);
const state = { credential: null, apps: [], app: null, idempotencyKey: null, follow: null };

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set('Authorization', `Bearer ${state.credential}`);
  return fetch(base + path, { ...options, headers });
}

function show(element, text) {
  element.textContent = text || '';
  element.hidden = !text;
}

function retryAfter(response) {
  const seconds = parseInt(response.headers.get('Retry-After') || '', 10);
  return Number.isFinite(seconds) ? seconds : null;
}

async function problemText(response) {
  const wait = retryAfter(response);
  let detail = '';
  try { detail = (await response.clone().json()).detail || ''; } catch { /* not a problem body */ }
  if (response.status === 429) return `Too many requests: try again in ${wait ?? 'a few'} s.`;
  if (response.status === 503) return `Kimara is unavailable right now: try again in ${wait ?? 'a few'} s. ${detail}`.trim();
  if (response.status === 401) return 'Your credential was not accepted; sign in again.';
  if (response.status === 409) return `This submission is still being processed: try again in ${wait ?? 'a few'} s.`;
  return detail || `The gateway answered ${response.status}.`;
}

// ---- sign in -------------------------------------------------------------------------------------------------------

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  state.credential = $('credential').value.trim();
  let response;
  try {
    response = await api('apps');
  } catch (error) {
    show($('signin-error'), `The gateway could not be reached (${error.message}).`);
    state.credential = null;
    return;
  }
  if (!response.ok) {
    show($('signin-error'), await problemText(response));
    state.credential = null;
    return;
  }

  $('credential').value = '';
  show($('signin-error'), '');
  state.apps = (await response.json()).data || [];
  $('signin').hidden = true;
  $('workspace').hidden = false;
  $('who').textContent = `Signed in; ${state.apps.length} App(s) available.`;
  renderAppChoice();
  // The sign-in form just vanished; a keyboard user continues where the work starts.
  $('app-select').focus();
  loadHistory();
});

$('signout').addEventListener('click', () => {
  state.credential = null;
  stopFollowing();
  // Whoever signs in next must not see this caller's runs or outputs.
  state.app = null;
  $('fields').replaceChildren();
  $('history').replaceChildren();
  $('progress').replaceChildren();
  $('output-image').removeAttribute('src');
  $('current').hidden = true;
  $('workspace').hidden = true;
  $('signin').hidden = false;
  $('credential').focus();
});

// ---- the App form, rendered from its JSON Schema -------------------------------------------------------------------

function renderAppChoice() {
  const select = $('app-select');
  select.replaceChildren(...state.apps.map((app) => new Option(app.name || app.id, app.id)));
  select.onchange = () => chooseApp(select.value);
  const preferred = state.apps.find((a) => a.id === 'text-to-image') || state.apps[0];
  if (preferred) {
    select.value = preferred.id;
    chooseApp(preferred.id);
  }
}

async function chooseApp(id) {
  const response = await api(`apps/${encodeURIComponent(id)}`);
  if (!response.ok) {
    show($('form-error'), await problemText(response));
    return;
  }

  state.app = await response.json();
  state.idempotencyKey = null;
  $('app-description').textContent = state.app.description || '';
  const schema = state.app.input_schema || { properties: {} };
  const required = new Set(schema.required || []);
  $('fields').replaceChildren(...Object.entries(schema.properties || {}).map(([name, prop]) => renderField(name, prop, required.has(name))));
  show($('form-error'), '');
}

// The gateway marks image fields with x-kgw-image: the accepted types and the limits JSON Schema cannot express.
function imageRules(prop) {
  return prop['x-kgw-image'] || null;
}

function renderField(name, prop, required) {
  const wrap = document.createElement('div');
  const id = `field-${name}`;
  const label = document.createElement('label');
  label.htmlFor = id;
  const title = prop.title || name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');
  label.textContent = title + (required ? ' *' : '');
  let input;

  if (prop.type === 'boolean') {
    input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = prop.default === true;
    label.className = 'check';
    label.prepend(input);
    wrap.append(label);
  } else {
    if (Array.isArray(prop.enum)) {
      input = document.createElement('select');
      if (!required) input.append(new Option('(default)', ''));
      prop.enum.forEach((v) => input.append(new Option(String(v), String(v))));
      if (prop.default !== undefined) input.value = String(prop.default);
    } else if (imageRules(prop)) {
      input = document.createElement('input');
      input.type = 'file';
      input.accept = imageRules(prop).content_types.join(',');
      input.addEventListener('change', () => previewImage(input, wrap, imageRules(prop)));
    } else if (prop.type === 'integer' || prop.type === 'number') {
      input = document.createElement('input');
      input.type = 'number';
      if (prop.minimum !== undefined) input.min = prop.minimum;
      if (prop.maximum !== undefined) input.max = prop.maximum;
      input.step = prop.multipleOf ?? (prop.type === 'integer' ? 1 : 'any');
      if (prop.default !== undefined) input.value = prop.default;
    } else {
      input = document.createElement((prop.maxLength ?? 0) > 200 ? 'textarea' : 'input');
      if (input.tagName === 'INPUT') input.type = 'text';
      if (prop.maxLength !== undefined) input.maxLength = prop.maxLength;
      if (prop.default !== undefined) input.value = prop.default;
    }
    wrap.append(label, input);
  }

  input.id = id;
  input.name = name;
  input.dataset.kind = imageRules(prop) ? 'image' : prop.type;
  input.required = required;
  const example = Array.isArray(prop.examples) ? prop.examples[0] : undefined;
  if (example !== undefined && input.type !== 'file' && 'placeholder' in input && typeof example !== 'object') input.placeholder = String(example);
  const help = document.createElement('p');
  help.className = 'muted';
  help.id = `${id}-help`;
  help.textContent = prop.description || '';
  const error = document.createElement('p');
  error.className = 'error';
  error.id = `${id}-error`;
  error.hidden = true;
  input.setAttribute('aria-describedby', `${help.id} ${error.id}`);
  input.addEventListener('input', () => { state.idempotencyKey = null; });
  wrap.append(help, error);
  return wrap;
}

function previewImage(input, wrap, rules) {
  const old = wrap.querySelector('img.preview');
  if (old) {
    URL.revokeObjectURL(old.src);
    old.remove();
  }
  const file = input.files[0];
  const error = $(`${input.id}-error`);
  input.removeAttribute('aria-invalid');
  show(error, '');
  if (!file) return;
  // Checked here to save an upload the gateway would refuse; the gateway checks again, by content.
  const problem = !rules.content_types.includes(file.type) ? `Choose one of ${rules.content_types.join(', ')}.`
    : file.size > rules.max_bytes ? `At most ${Math.floor(rules.max_bytes / 1048576)} MiB.` : '';
  if (problem) {
    input.setAttribute('aria-invalid', 'true');
    show(error, problem);
    return;
  }
  const img = document.createElement('img');
  img.className = 'preview';
  img.alt = `Preview of ${file.name}`;
  img.src = URL.createObjectURL(file);
  input.after(img);
}

function readDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function collectInputs() {
  const inputs = {};
  for (const input of $('fields').querySelectorAll('input, select, textarea')) {
    const kind = input.dataset.kind;
    if (kind === 'boolean') {
      inputs[input.name] = input.checked;
    } else if (kind === 'image') {
      if (input.files[0]) inputs[input.name] = await readDataUrl(input.files[0]);
    } else if (input.value !== '') {
      inputs[input.name] = kind === 'integer' || kind === 'number' ? Number(input.value) : input.value;
    }
  }
  return inputs;
}

function clearFieldErrors() {
  for (const el of $('fields').querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of $('fields').querySelectorAll('p.error')) show(el, '');
  show($('form-error'), '');
}

function showValidation(errors) {
  const rest = [];
  for (const [key, messages] of Object.entries(errors || {})) {
    const name = key.startsWith('inputs.') ? key.slice('inputs.'.length).split(/[.[]/)[0] : null;
    const input = name && $(`field-${name}`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      show($(`field-${name}-error`), messages.join(' '));
    } else {
      rest.push(`${key}: ${messages.join(' ')}`);
    }
  }
  if (rest.length) show($('form-error'), rest.join(' '));
  $('fields').querySelector('[aria-invalid=true]')?.focus();
}

$('run-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('submit');
  if (button.disabled || !state.app) return;
  button.disabled = true;
  clearFieldErrors();
  // One key per distinct submission: a double click or a retry of the same values replays the first run.
  state.idempotencyKey ??= newKey();
  try {
    const body = JSON.stringify({ app_id: state.app.id, inputs: await collectInputs() });
    const response = await api('runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': state.idempotencyKey },
      body,
    });
    if (response.status === 202 || response.status === 200) {
      const run = await response.json();
      state.idempotencyKey = null;
      followRun(run);
      loadHistory();
    } else if (response.status === 400 && (await response.clone().json()).errors) {
      showValidation((await response.json()).errors);
    } else {
      show($('form-error'), await problemText(response));
    }
  } catch (error) {
    show($('form-error'), `The gateway could not be reached (${error.message}).`);
  } finally {
    button.disabled = false;
  }
});

// ---- following a run: Server-Sent Events over fetch (an EventSource cannot send the Authorization header) ----------

function stopFollowing() {
  state.follow?.abort();
  state.follow = null;
}

function renderRun(run) {
  $('current').hidden = false;
  $('status').textContent = run.status;
  const steps = $('progress');
  if (steps.lastElementChild?.textContent !== run.status) {
    const step = document.createElement('li');
    step.textContent = run.status;
    steps.append(step);
  }
  $('run-id').textContent = run.id;
  show($('run-error'), run.status === 'failed' ? `${run.error || 'The run failed.'} (${run.error_code || 'failed'})` : '');
  const done = run.status === 'completed' && run.output_url;
  $('output').hidden = !done;
  if (done) {
    $('output-image').src = run.output_url;
    $('output-download').href = run.output_url;
  }
}

const terminal = (run) => run.status === 'completed' || run.status === 'failed';

async function followRun(run) {
  stopFollowing();
  const controller = new AbortController();
  state.follow = controller;
  $('progress').replaceChildren();
  renderRun(run);
  let lastEventId = null;
  for (let failures = 0; failures < 3 && !controller.signal.aborted;) {
    try {
      const headers = { Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) };
      const response = await api(`runs/${run.id}/events`, { headers, signal: controller.signal });
      if (!response.ok || !response.body) throw new Error(`events answered ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end; (end = buffer.indexOf('\n\n')) >= 0;) {
          const event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event.id) lastEventId = event.id;
          if (!event.data) continue;
          const current = JSON.parse(event.data);
          renderRun(current);
          if (terminal(current)) return finish(controller);
        }
      }
      // The stream ended before a terminal status (a proxy or replica went away): resume from the last event.
      failures++;
    } catch (error) {
      if (controller.signal.aborted) return;
      failures++;
    }
  }
  if (!controller.signal.aborted) await pollRun(run.id, controller);
}

function parseEvent(block) {
  const event = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else if (field === 'id' || field === 'event') event[field] = value;
  }
  return event;
}

// The fallback: conditional long polls. With the last ETag the gateway holds the request until the run changes
// (or answers 304 after `wait` seconds), so a change shows at once and an unchanged run costs one small request.
async function pollRun(id, controller) {
  let etag = null;
  while (!controller.signal.aborted) {
    let response;
    try {
      response = await api(etag ? `runs/${id}?wait=25` : `runs/${id}`, { headers: etag ? { 'If-None-Match': etag } : {}, signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) return;
      show($('run-error'), `The gateway could not be reached (${error.message}); retrying.`);
      await delay(2);
      continue;
    }
    if (response.status === 200) {
      etag = response.headers.get('ETag');
      const run = await response.json();
      renderRun(run);
      if (terminal(run)) return finish(controller);
    } else if (response.status !== 304) {
      show($('run-error'), await problemText(response));
      await delay(retryAfter(response) ?? 2);
    }
  }
}

const delay = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

function finish(controller) {
  if (state.follow === controller) state.follow = null;
  loadHistory();
}

// ---- history -------------------------------------------------------------------------------------------------------

async function loadHistory() {
  const response = await api('runs?limit=24');
  if (!response.ok) return;
  const { data } = await response.json();
  $('history').replaceChildren(...data.map((run) => {
    const item = document.createElement('li');
    if (run.status === 'completed' && run.output_url) {
      const link = document.createElement('a');
      link.href = run.output_url;
      const img = document.createElement('img');
      img.src = run.output_url;
      img.alt = `Output of run ${run.id}`;
      img.loading = 'lazy';
      link.append(img);
      item.append(link);
    }
    const text = document.createElement('span');
    text.textContent = `${run.app_id} · ${run.status} · ${new Date(run.created_at).toLocaleString()}`;
    item.append(text);
    item.dataset.runId = run.id;
    return item;
  }));
}

$('history-refresh').addEventListener('click', loadHistory);
