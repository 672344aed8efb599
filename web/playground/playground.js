// The playground page: builds its controls from the WebAssembly engine's catalogue (functions, optimizers
// and their default options), asks the engine for paths and contours, and draws them with plotly.js.
// Every number on the plot comes from descent's C++ compiled to WebAssembly; this file only draws.
//
// URL parameters (for links and the headless test): function=NAME or NAME(key=value,...), optimizer=a,b
// (one row each), start=x,y, steps=N, autorun=0 (draw the contour only; the page runs on load otherwise), and any optimizer option: lr=0.05 (every row that has
// it), adam.lr=0.05 (rows of that optimizer), betas=0.9,0.99 (pairs as comma lists), amsgrad=true.
'use strict';

const COLORS = ['#e6550d', '#3182bd', '#31a354', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
const RESOLUTION = 140;

const state = {
  engine: null,       // the emscripten module
  catalogue: null,    // {functions, optimizers}
  functionInfo: null, // describe_function of the current spec
  contour: null,      // {x, y, z, spec, bounds}
  rows: [],           // {id, optimizer, element}
  paths: [],          // {label, color, points, diverged_at_step, gradient_evaluations, error}
  drawn: false,
  animation: null,    // the pending animation frame while paths are replayed
  nextRowId: 0,
  engineErrors: [],
};

const byId = (id) => document.getElementById(id);

function call(method, request) {
  const response = JSON.parse(state.engine.call(method, JSON.stringify(request || {})));
  if ('error' in response) throw new Error(response.error);
  return response.ok;
}

function formatNumber(value) {
  if (value === null || value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? value.toExponential(3) : String(+value.toPrecision(6));
}

function showMessage(text) {
  byId('message').textContent = text || '';
}

// ---- the status element the headless test reads
function writeStatus() {
  const first = state.paths.find((path) => path.points);
  const status = {
    ready: state.engine !== null,
    function: state.functionInfo ? state.functionInfo.spec : null,
    points: first ? first.points.length : 0,
    paths: state.paths.map((path) => ({
      optimizer: path.label,
      points: path.points ? path.points.length : 0,
      last: path.points ? path.points[path.points.length - 1] : null,
      diverged_at_step: path.diverged_at_step ?? null,
      error: path.error || null,
    })),
    drawn: state.drawn,
    errors: [...window.playgroundErrors, ...state.engineErrors],
  };
  byId('playground-status').textContent = JSON.stringify(status);
}

// ---- function and start
function currentSpec() {
  const name = byId('function').value;
  const options = byId('function-options').value.trim();
  return options ? `${name}(${options})` : name;
}

function readStart() {
  const x = Number(byId('start-x').value), y = Number(byId('start-y').value);
  if (!Number.isFinite(x) || !Number.isFinite(y) || byId('start-x').value.trim() === '' || byId('start-y').value.trim() === '')
    throw new Error(`start (${byId('start-x').value}, ${byId('start-y').value}) is not valid; expected two numbers`);
  return [x, y];
}

function setStart(point) {
  byId('start-x').value = String(+point[0].toPrecision(6));
  byId('start-y').value = String(+point[1].toPrecision(6));
}

function loadFunction(resetStart) {
  state.functionInfo = call('describe_function', { function: currentSpec() });
  if (resetStart) setStart(state.functionInfo.default_start);
  state.contour = null;
}

// The plotting box, widened to hold the start (and a margin) when it lies outside the function's box.
function plotBounds(start) {
  return state.functionInfo.bounds.map(([low, high], axis) => {
    const margin = 0.05 * (high - low);
    return [Math.min(low, start[axis] - margin), Math.max(high, start[axis] + margin)];
  });
}

function ensureContour(start) {
  const bounds = plotBounds(start);
  const spec = state.functionInfo.spec;
  const same = state.contour && state.contour.spec === spec &&
    JSON.stringify(state.contour.bounds) === JSON.stringify(bounds);
  if (!same) state.contour = { ...call('contour', { function: spec, bounds, resolution: RESOLUTION }), spec, bounds };
  return state.contour;
}

// ---- optimizer rows: one fieldset each, its inputs generated from the optimizer's default options
function optimizerDefaults(name) {
  const entry = state.catalogue.optimizers.find((optimizer) => optimizer.name === name);
  if (!entry) throw new Error(`unknown optimizer '${name}'; valid names: ${state.catalogue.optimizers.map((o) => o.name).join(', ')}`);
  return entry.options;
}

function optionInput(key, value) {
  const label = document.createElement('label');
  label.append(key);
  const inputs = Array.isArray(value) ? value : [value];
  inputs.forEach((element, index) => {
    const input = document.createElement('input');
    input.dataset.option = key;
    input.dataset.index = Array.isArray(value) ? String(index) : '';
    if (typeof element === 'boolean') {
      input.type = 'checkbox';
      input.checked = element;
      input.dataset.kind = 'boolean';
    } else {
      input.type = 'text';
      input.value = String(element);
      input.dataset.kind = typeof element === 'number' ? 'number' : 'string';
      if (typeof element === 'number') input.inputMode = 'decimal';
    }
    label.append(input);
  });
  return label;
}

function fillOptions(row) {
  const container = row.element.querySelector('.options');
  container.replaceChildren();
  const defaults = optimizerDefaults(row.optimizer);
  for (const key of Object.keys(defaults).sort((a, b) => (a === 'lr' ? -1 : b === 'lr' ? 1 : a.localeCompare(b))))
    container.append(optionInput(key, defaults[key]));
}

function addRow(optimizer) {
  optimizerDefaults(optimizer);  // validates the name
  const row = { id: state.nextRowId++, optimizer, element: document.createElement('fieldset') };
  row.element.className = 'optimizer';
  const legend = document.createElement('legend');
  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  const select = document.createElement('select');
  for (const entry of state.catalogue.optimizers) select.add(new Option(entry.name, entry.name));
  select.value = optimizer;
  select.addEventListener('change', () => {
    row.optimizer = select.value;
    fillOptions(row);
  });
  legend.append(swatch, select);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'remove';
  remove.title = 'remove this optimizer';
  remove.textContent = '✕';
  remove.addEventListener('click', () => {
    state.rows = state.rows.filter((other) => other !== row);
    row.element.remove();
    colorRows();
    guarded(runAll);
  });
  const options = document.createElement('div');
  options.className = 'options';
  row.element.append(legend, remove, options);
  // Editing an option (or picking another optimizer) reruns once the page has drawn paths.
  row.element.addEventListener('change', () => { if (state.paths.length) guarded(runAll); });
  byId('optimizers').append(row.element);
  state.rows.push(row);
  fillOptions(row);
  colorRows();
  return row;
}

function colorRows() {
  state.rows.forEach((row, index) => {
    row.element.querySelector('.swatch').style.background = COLORS[index % COLORS.length];
  });
}

function readOptions(row) {
  const options = {};
  for (const input of row.element.querySelectorAll('.options input')) {
    const key = input.dataset.option;
    let value;
    if (input.dataset.kind === 'boolean') value = input.checked;
    else if (input.dataset.kind === 'number') {
      value = Number(input.value);
      if (input.value.trim() === '' || Number.isNaN(value))
        throw new Error(`${row.optimizer}: option ${key} = '${input.value}' is not valid; expected a number`);
    } else value = input.value;
    if (input.dataset.index === '') options[key] = value;
    else (options[key] = options[key] || [])[Number(input.dataset.index)] = value;
  }
  return options;
}

// Sets an option input of `row` from URL text; returns whether the row has that option.
function applyOption(row, key, text) {
  const inputs = [...row.element.querySelectorAll('.options input')].filter((input) => input.dataset.option === key);
  if (inputs.length === 0) return false;
  const parts = inputs.length > 1 ? text.split(',') : [text];
  if (parts.length !== inputs.length)
    throw new Error(`URL option ${key}=${text} is not valid for ${row.optimizer}; expected ${inputs.length} comma-separated values`);
  inputs.forEach((input, index) => {
    if (input.dataset.kind === 'boolean') {
      if (parts[index] !== 'true' && parts[index] !== 'false')
        throw new Error(`URL option ${key}=${text} is not valid; expected true or false`);
      input.checked = parts[index] === 'true';
    } else input.value = parts[index];
  });
  return true;
}

// ---- running and drawing
function runAll() {
  showMessage('');
  state.engineErrors = [];
  state.drawn = false;
  const start = readStart();
  const steps = Number(byId('steps').value);
  if (!Number.isInteger(steps) || steps < 1 || steps > 100000)
    throw new Error(`steps = '${byId('steps').value}' is not valid; expected an integer in [1, 100000]`);
  state.paths = state.rows.map((row, index) => {
    const label = state.rows.filter((other) => other.optimizer === row.optimizer).length > 1
      ? `${row.optimizer} #${index + 1}` : row.optimizer;
    const color = COLORS[index % COLORS.length];
    try {
      const request = { function: state.functionInfo.spec, optimizer: row.optimizer, options: readOptions(row), start, steps };
      return { label, color, ...call('run_path', request) };
    } catch (error) {
      // descent's messages already begin with the optimizer's name; a label like "adam #2" is added.
      state.engineErrors.push(error.message.startsWith(`${label}:`) ? error.message : `${label}: ${error.message}`);
      return { label, color, error: error.message };
    }
  });
  if (state.engineErrors.length) showMessage(state.engineErrors.join('\n'));
  return draw(start);
}

// Contours of log10(1 + f - f*) (or a signed log for functions unbounded below), so that valleys stay
// visible next to walls many orders of magnitude higher.
function contourLevels(z) {
  const minimum = state.functionInfo.minimum_value;
  return z.map((row) => row.map((f) => {
    if (f === null) return null;
    return minimum !== null ? Math.log10(1 + Math.max(0, f - minimum)) : Math.sign(f) * Math.log10(1 + Math.abs(f));
  }));
}

function traces(start) {
  const grid = ensureContour(start);
  const result = [{
    type: 'contour', x: grid.x, y: grid.y, z: contourLevels(grid.z), customdata: grid.z,
    colorscale: 'YlGnBu', reversescale: true, ncontours: 30, showscale: false, line: { width: 0.5 },
    hovertemplate: 'x=%{x:.4g}<br>y=%{y:.4g}<br>f=%{customdata:.5g}<extra></extra>', name: 'f',
  }];
  const special = state.functionInfo.minima.length ? state.functionInfo.minima : state.functionInfo.stationary_points;
  if (special.length)
    result.push({
      type: 'scatter', mode: 'markers', x: special.map((p) => p[0]), y: special.map((p) => p[1]),
      marker: { symbol: 'star', size: 13, color: '#ffd60a', line: { color: '#222', width: 1 } },
      name: state.functionInfo.minima.length ? 'minimum' : 'stationary point', hoverinfo: 'name',
    });
  result.push({
    type: 'scatter', mode: 'markers', x: [start[0]], y: [start[1]], name: 'start', hoverinfo: 'name',
    marker: { symbol: 'circle-open', size: 12, color: '#000', line: { width: 2 } },
  });
  for (const path of state.paths) {
    if (!path.points) continue;
    const shown = path.points;
    result.push({
      type: 'scatter', mode: 'lines+markers', name: path.label, x: shown.map((p) => p[0]), y: shown.map((p) => p[1]),
      customdata: shown.map((p, step) => [step, p[2]]), line: { color: path.color, width: 2 },
      marker: { color: path.color, size: 3 }, meta: 'path',
      hovertemplate: `${path.label}<br>step %{customdata[0]}<br>x=%{x:.5g}<br>y=%{y:.5g}<br>f=%{customdata[1]:.6g}<extra></extra>`,
    });
  }
  return result;
}

function layout(start) {
  const bounds = plotBounds(start);
  return {
    margin: { l: 50, r: 20, t: 30, b: 45 },
    title: { text: state.functionInfo.spec, font: { size: 14 } },
    xaxis: { range: bounds[0], title: { text: 'x' } },
    yaxis: { range: bounds[1], title: { text: 'y' } },
    legend: { orientation: 'h', y: -0.1 },
    uirevision: state.functionInfo.spec,
  };
}

// A path counts as drawn once plotly has rendered its line as an SVG path with at least one segment.
function renderedPathCount(plot) {
  return [...plot.querySelectorAll('.scatterlayer .trace')].filter((trace) => {
    const line = trace.querySelector('path.js-line');
    return line && /L/.test(line.getAttribute('d') || '');
  }).length;
}

async function draw(start) {
  stopAnimation();  // a replay of the previous paths must not overwrite these
  const plot = byId('plot');
  await Plotly.react(plot, traces(start), layout(start), { responsive: true, displaylogo: false });
  const multiPoint = state.paths.filter((path) => path.points && path.points.length > 1).length;
  state.drawn = multiPoint > 0 && renderedPathCount(plot) >= multiPoint;
  summarize();
  writeStatus();
}

function summarize() {
  const table = byId('summary');
  table.replaceChildren();
  const head = table.insertRow();
  for (const title of ['optimizer', 'steps', 'final x', 'final y', 'final f', 'f − f*', 'gradient evaluations', 'note'])
    head.append(Object.assign(document.createElement('th'), { textContent: title }));
  const minimum = state.functionInfo.minimum_value;
  for (const path of state.paths) {
    const row = table.insertRow();
    const last = path.points ? path.points[path.points.length - 1] : null;
    const note = path.error ? path.error : path.diverged_at_step ? `diverged at step ${path.diverged_at_step}` : '';
    const cells = [path.label, path.points ? path.points.length - 1 : '—', last && formatNumber(last[0]),
      last && formatNumber(last[1]), last && formatNumber(last[2]),
      last && minimum !== null ? formatNumber(last[2] - minimum) : '—', path.gradient_evaluations ?? '—', note];
    for (const text of cells) row.insertCell().textContent = text ?? '—';
    row.cells[0].style.color = path.color;
  }
}

// Replays the computed paths: only the path traces change between frames, the contour stays.
function stopAnimation() {
  if (state.animation) cancelAnimationFrame(state.animation);
  state.animation = null;
}

function animate() {
  stopAnimation();
  const plot = byId('plot');
  const indices = plot.data.map((trace, index) => (trace.meta === 'path' ? index : -1)).filter((index) => index >= 0);
  const shown = state.paths.filter((path) => path.points);
  const longest = Math.max(0, ...shown.map((path) => path.points.length));
  if (longest < 2 || indices.length !== shown.length) return;
  const frames = Math.min(longest, 240);
  let frame = 1;
  const tick = () => {
    const visible = Math.ceil((frame / frames) * longest);
    const parts = shown.map((path) => path.points.slice(0, visible));
    Plotly.restyle(plot, {
      x: parts.map((points) => points.map((p) => p[0])),
      y: parts.map((points) => points.map((p) => p[1])),
      customdata: parts.map((points) => points.map((p, step) => [step, p[2]])),
    }, indices);
    state.animation = frame++ < frames ? requestAnimationFrame(tick) : null;
  };
  state.animation = requestAnimationFrame(tick);
}

// ---- wiring
async function guarded(action) {
  try {
    await action();
  } catch (error) {
    state.engineErrors.push(error.message);
    showMessage(error.message);
    writeStatus();
  }
}

function applyUrl(params) {
  const consumed = new Set(['function', 'optimizer', 'start', 'steps', 'autorun']);
  const spec = params.get('function');
  if (spec) {
    const match = /^([^()]+)(?:\((.*)\))?$/.exec(spec.trim());
    if (!match) throw new Error(`URL function=${spec} is not valid; expected NAME or NAME(key=value,...)`);
    if (![...byId('function').options].some((option) => option.value === match[1]))
      throw new Error(`URL function=${match[1]} is unknown; valid names: ${state.catalogue.functions.map((f) => f.name).join(', ')}`);
    byId('function').value = match[1];
    byId('function-options').value = match[2] || '';
  }
  loadFunction(true);
  if (params.get('start')) {
    const parts = params.get('start').split(',').map(Number);
    if (parts.length !== 2 || !parts.every(Number.isFinite))
      throw new Error(`URL start=${params.get('start')} is not valid; expected x,y`);
    setStart(parts);
  }
  if (params.get('steps')) byId('steps').value = params.get('steps');
  if (params.get('optimizer')) {
    byId('optimizers').replaceChildren();
    state.rows = [];
    for (const name of params.get('optimizer').split(',')) addRow(name.trim());
  }
  for (const [key, value] of params) {
    if (consumed.has(key)) continue;
    const dot = key.indexOf('.');
    const [only, option] = dot > 0 ? [key.slice(0, dot), key.slice(dot + 1)] : [null, key];
    let used = false;
    for (const row of state.rows) if (!only || row.optimizer === only) used = applyOption(row, option, value) || used;
    if (!used) throw new Error(`URL parameter ${key}=${value} matches no option of the selected optimizers`);
  }
  return params.get('autorun') !== '0';
}

async function main() {
  state.engine = await createPlayground();
  state.catalogue = call('catalogue');
  const functionSelect = byId('function');
  for (const entry of state.catalogue.functions) functionSelect.add(new Option(entry.name, entry.name));
  functionSelect.value = 'rosenbrock';
  addRow('adam');
  addRow('sgd');
  state.rows[0].element.querySelector('input[data-option="lr"]').value = '0.05';
  state.rows[1].element.querySelector('input[data-option="lr"]').value = '0.0005';
  applyOption(state.rows[1], 'momentum', '0.9');

  const autorun = applyUrl(new URLSearchParams(window.location.search));
  writeStatus();

  const rerun = () => guarded(runAll);
  functionSelect.addEventListener('change', () => guarded(() => { byId('function-options').value = ''; loadFunction(true); return runAll(); }));
  byId('function-options').addEventListener('change', () => guarded(() => { loadFunction(false); return runAll(); }));
  byId('run').addEventListener('click', rerun);
  for (const id of ['start-x', 'start-y', 'steps']) byId(id).addEventListener('change', rerun);
  byId('animate').addEventListener('click', () => guarded(async () => { await runAll(); animate(); }));
  byId('add-optimizer').addEventListener('click', () => guarded(() => { addRow('adam'); }));
  if (autorun) await guarded(runAll);
  else await guarded(() => draw(readStart()));  // contour only
  if (!byId('plot').on) return;  // nothing was drawn; the message says why
  // Clicking the plot moves the start there and reruns (plotly reports the clicked grid point).
  byId('plot').on('plotly_click', (event) => {
    const point = event.points && event.points[0];
    if (!point || !Number.isFinite(point.x) || !Number.isFinite(point.y)) return;
    setStart([point.x, point.y]);
    guarded(runAll);
  });
}

window.addEventListener('DOMContentLoaded', () => guarded(main));
