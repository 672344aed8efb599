// descent report: helpers shared by the page sections. User strings reach the page only through
// textContent (never innerHTML); charts are drawn by Plotly, which escapes the text it is given.
var Report = (function () {
  'use strict';
  var status = window.descentStatus;
  var pending = [];
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
                 '#bcbd22', '#17becf'];
  var plotConfig = {
    responsive: true,
    displaylogo: false,
    // Nothing leaves the page: no cloud upload button.
    modeBarButtonsToRemove: ['sendChartToCloud', 'sendDataToCloud', 'lasso2d', 'select2d']
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function section(title, note) {
    var node = el('section', 'report-section');
    node.appendChild(el('h2', null, title));
    if (note) node.appendChild(el('p', 'note', note));
    document.getElementById('descent-report').appendChild(node);
    return node;
  }

  function isNumber(value) {
    return typeof value === 'number' && isFinite(value);
  }

  function fmt(value) {
    if (value === null || value === undefined) return '—';
    if (typeof value === 'number') {
      if (!isFinite(value)) return String(value);
      if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
      var magnitude = Math.abs(value);
      if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return value.toExponential(3);
      return value.toPrecision(4).replace(/\.?0+$/, function (zeros) { return zeros.indexOf('.') === 0 ? '' : zeros; });
    }
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }

  // columns: header strings; rows: arrays of cell values (numbers formatted, everything else as text).
  function table(parent, columns, rows, className) {
    var wrap = el('div', 'table-wrap');
    var node = el('table', className || 'data');
    var head = node.createTHead().insertRow();
    columns.forEach(function (name) { head.appendChild(el('th', null, name)); });
    var body = node.createTBody();
    rows.forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (cell) {
        var td = el('td', typeof cell === 'number' ? 'num' : null, fmt(cell));
        tr.appendChild(td);
      });
    });
    wrap.appendChild(node);
    parent.appendChild(wrap);
    return node;
  }

  // key/value pairs as a two-column table.
  function facts(parent, pairs) {
    return table(parent, ['', ''], pairs.filter(function (pair) { return pair[1] !== undefined; }), 'facts');
  }

  function pre(parent, text) {
    var node = el('pre', 'config', text);
    parent.appendChild(node);
    return node;
  }

  // Buttons that switch an axis between linear and log scale.
  function scaleButtons(axis, startLog) {
    var key = axis + '.type';
    var linear = {}; linear[key] = 'linear';
    var log = {}; log[key] = 'log';
    return {
      type: 'buttons', direction: 'right', showactive: true, active: startLog ? 1 : 0,
      x: axis === 'xaxis' ? 0.25 : 0, xanchor: 'left', y: 1.02, yanchor: 'bottom', pad: { r: 4 },
      buttons: [
        { label: (axis === 'xaxis' ? 'x' : 'y') + ' linear', method: 'relayout', args: [linear] },
        { label: (axis === 'xaxis' ? 'x' : 'y') + ' log', method: 'relayout', args: [log] }
      ]
    };
  }

  function merge(base, extra) {
    var out = {};
    Object.keys(base).forEach(function (key) { out[key] = base[key]; });
    Object.keys(extra || {}).forEach(function (key) { out[key] = extra[key]; });
    return out;
  }

  // Every string a chart shows may come from the user (setup names, parameters, metrics): escaped here,
  // once, for all charts.
  function escapeUserText(traces, layout, frames) {
    traces.forEach(function (trace) {
      if (trace.name !== undefined) trace.name = text(trace.name);
      if (trace.text !== undefined) trace.text = Array.isArray(trace.text) ? trace.text.map(text) : text(trace.text);
      (trace.dimensions || []).forEach(function (dimension) {
        // Parallel-coordinates tick labels are set as plain text (no tags read), so they stay as given.
        dimension.label = text(dimension.label);
      });
    });
    Object.keys(layout).forEach(function (key) {
      var axis = layout[key];
      if (/^[xy]axis\d*$/.test(key) && axis && axis.title && axis.title.text !== undefined) axis.title.text = text(axis.title.text);
      if (/^[xy]axis\d*$/.test(key) && axis && axis.ticktext) axis.ticktext = axis.ticktext.map(text);
    });
    (layout.annotations || []).forEach(function (note) { note.text = text(note.text); });
    (frames || []).forEach(function (frame) {
      (frame.data || []).forEach(function (trace) { if (trace.name !== undefined) trace.name = text(trace.name); });
    });
    (layout.sliders || []).forEach(function (slider) {
      (slider.steps || []).forEach(function (step) { step.label = text(step.label); });
    });
  }

  // Draws one chart into `parent` and counts it: drawn when Plotly resolved, the plot has its SVG and
  // every trace was accepted (Plotly hides a trace whose data it cannot use).
  function chart(parent, title, traces, layout, frames) {
    var node = el('div', 'chart');
    parent.appendChild(node);
    status.expected += 1;
    var fullLayout = merge({
      title: { text: text(title), x: 0.02, xanchor: 'left', y: 0.98, yref: 'container', yanchor: 'top' },
      margin: { l: 70, r: 30, t: 90, b: 55 },
      height: 420,
      hovermode: 'closest',
      legend: { orientation: 'v' },
      font: { family: 'system-ui, -apple-system, Segoe UI, sans-serif', size: 12 }
    }, layout);
    escapeUserText(traces, fullLayout, frames);
    var drawing = Promise.resolve().then(function () {
      return Plotly.newPlot(node, { data: traces, layout: fullLayout, config: plotConfig, frames: frames || [] });
    }).then(function () {
      var accepted = (node._fullData || []).every(function (trace) { return trace.visible !== false; });
      if (node.querySelector('svg.main-svg') && accepted && (node._fullData || []).length === traces.length) {
        status.drawn += 1;
      } else {
        status.failed.push(title);
      }
    }, function (error) {
      status.failed.push(title);
      status.errors.push('chart "' + title + '": ' + (error && error.stack ? error.stack : error));
    });
    pending.push(drawing);
    return node;
  }

  function finish() {
    return Promise.all(pending).then(function () { window.descentPublishStatus(); });
  }

  // A user string as Plotly text: Plotly reads a few HTML tags (<a>, <b>, <br>) in labels and decodes
  // character references, so escaping makes it show exactly the characters given.
  function text(value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  function color(index) {
    return palette[index % palette.length];
  }

  // rgba() of a palette colour with the given opacity, for the bands behind a mean line.
  function fade(hex, alpha) {
    var r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
    return 'rgba(' + r + ',' + g + ',' + b + ',' + alpha + ')';
  }

  // Values present in both columns, as {x, y} arrays.
  function pairs(xs, ys) {
    var out = { x: [], y: [] };
    if (!xs || !ys) return out;
    for (var i = 0; i < Math.min(xs.length, ys.length); i += 1) {
      if (isNumber(xs[i]) && isNumber(ys[i])) { out.x.push(xs[i]); out.y.push(ys[i]); }
    }
    return out;
  }

  function hasValues(column) {
    return Array.isArray(column) && column.some(isNumber);
  }

  // Mean and standard deviation (n - 1) across curves, at each x that any of them reaches.
  // curves: [{x: [..], y: [..]}]. Returns {x, mean, std, n}.
  function band(curves) {
    var byX = new Map();
    curves.forEach(function (curve) {
      curve.x.forEach(function (x, i) {
        if (!byX.has(x)) byX.set(x, []);
        byX.get(x).push(curve.y[i]);
      });
    });
    var xs = Array.from(byX.keys()).sort(function (a, b) { return a - b; });
    var out = { x: xs, mean: [], std: [], n: [] };
    xs.forEach(function (x) {
      var values = byX.get(x);
      var mean = values.reduce(function (s, v) { return s + v; }, 0) / values.length;
      var variance = values.length > 1
        ? values.reduce(function (s, v) { return s + (v - mean) * (v - mean); }, 0) / (values.length - 1) : 0;
      out.mean.push(mean); out.std.push(Math.sqrt(variance)); out.n.push(values.length);
    });
    return out;
  }

  // Traces of a mean line with a shaded ±std band (the band is one closed polygon, hidden from hover).
  function bandTraces(name, stats, hex, group, dash) {
    var upper = stats.mean.map(function (m, i) { return m + stats.std[i]; });
    var lower = stats.mean.map(function (m, i) { return m - stats.std[i]; });
    return [
      { x: stats.x.concat(stats.x.slice().reverse()), y: upper.concat(lower.reverse()), type: 'scatter', mode: 'lines',
        fill: 'toself', fillcolor: fade(hex, 0.18), line: { width: 0 }, hoverinfo: 'skip', showlegend: false,
        legendgroup: group },
      { x: stats.x, y: stats.mean, type: 'scatter', mode: 'lines+markers', name: name, legendgroup: group,
        line: { color: hex, dash: dash || 'solid' }, marker: { size: 4 },
        customdata: stats.std.map(function (s, i) { return [s, stats.n[i]]; }),
        hovertemplate: '%{y:.4g} ± %{customdata[0]:.3g} (n = %{customdata[1]})<extra>%{fullData.name}</extra>' }
    ];
  }

  return {
    el: el, section: section, table: table, facts: facts, pre: pre, chart: chart, finish: finish, fmt: fmt,
    isNumber: isNumber, scaleButtons: scaleButtons, color: color, fade: fade, pairs: pairs, hasValues: hasValues,
    band: band, bandTraces: bandTraces, merge: merge, text: text
  };
})();
