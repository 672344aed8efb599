// descent report: a hyperparameter study (descent tune): the history with the best value so far, a
// parallel-coordinates view of parameters against the value, the pruner's intermediate curves and, for
// population-based training, the generations.
var StudyReport = (function () {
  'use strict';
  var R = Report;
  var stateColors = { complete: '#1f77b4', pruned: '#d62728', failed: '#7f7f7f', running: '#ff7f0e' };

  function better(direction, a, b) {
    return direction === 'maximize' ? a > b : a < b;
  }

  function historySection(doc) {
    var part = R.section('History', 'The value of each trial in the order they ran; the line is the best so far.');
    var traces = [];
    Object.keys(stateColors).forEach(function (state) {
      var trials = doc.trials.filter(function (t) { return t.state === state && R.isNumber(t.value); });
      if (!trials.length) return;
      traces.push({ x: trials.map(function (t) { return t.number; }), y: trials.map(function (t) { return t.value; }),
                    type: 'scatter', mode: 'markers', name: state,
                    marker: { color: stateColors[state], size: 8, symbol: state === 'pruned' ? 'x' : 'circle' } });
    });
    var best = null, bestX = [], bestY = [];
    doc.trials.slice().sort(function (a, b) { return a.number - b.number; }).forEach(function (t) {
      if (t.state === 'complete' && R.isNumber(t.value) && (best === null || better(doc.direction, t.value, best))) best = t.value;
      if (best !== null) { bestX.push(t.number); bestY.push(best); }
    });
    if (bestX.length) traces.push({ x: bestX, y: bestY, type: 'scatter', mode: 'lines', name: 'best so far',
                                     line: { shape: 'hv', color: '#2ca02c', width: 2 } });
    if (!traces.length) {
      part.appendChild(R.el('p', 'note', 'No trial has a value yet.'));
      return;
    }
    R.chart(part, doc.metric + ' by trial', traces, {
      xaxis: { title: { text: 'trial' }, zeroline: false }, yaxis: { title: { text: doc.metric } },
      updatemenus: [R.scaleButtons('yaxis', false)]
    });
  }

  function isLogScale(space, name) {
    var spec = space && space[name];
    return !!(spec && typeof spec === 'object' && (spec.log === true || spec.type === 'loguniform' || spec.scale === 'log'));
  }

  // One axis per parameter (log10 for log-scale parameters, indices for categories) and one for the value.
  function parallelSection(doc) {
    var trials = doc.trials.filter(function (t) { return t.state === 'complete' && R.isNumber(t.value); });
    var names = [];
    trials.forEach(function (t) { Object.keys(t.params || {}).forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); }); });
    if (trials.length < 2 || !names.length) return;
    var part = R.section('Parameters against the value', 'Drag along an axis to select a range; the colour is the value.');
    var dimensions = names.map(function (name) {
      var raw = trials.map(function (t) { return t.params ? t.params[name] : null; });
      if (raw.every(function (v) { return R.isNumber(v) || v === null || v === undefined; })) {
        var log = isLogScale(doc.space, name) && raw.every(function (v) { return !R.isNumber(v) || v > 0; });
        var values = raw.map(function (v) { return R.isNumber(v) ? (log ? Math.log10(v) : v) : null; });
        var present = values.filter(R.isNumber);
        if (present.length === values.length) return { label: log ? 'log10 ' + name : name, values: values };
        // A conditional parameter that some trials do not have: those sit on an 'unset' tick below the
        // range, so that their lines still cross this axis.
        var low = Math.min.apply(null, present.concat([0])), high = Math.max.apply(null, present.concat([1]));
        if (present.length) { low = Math.min.apply(null, present); high = Math.max.apply(null, present); }
        var span = high > low ? high - low : 1;
        var unset = low - 0.15 * span;
        var ticks = [0, 0.25, 0.5, 0.75, 1].map(function (f) { return low + f * span; });
        return { label: log ? 'log10 ' + name : name, values: values.map(function (v) { return R.isNumber(v) ? v : unset; }),
                 range: [unset, high], tickvals: [unset].concat(ticks), ticktext: ['unset'].concat(ticks.map(R.fmt)) };
      }
      var categories = [];
      raw.forEach(function (v) { var key = String(v); if (categories.indexOf(key) < 0) categories.push(key); });
      return { label: name, values: raw.map(function (v) { return categories.indexOf(String(v)); }),
               tickvals: categories.map(function (_, i) { return i; }), ticktext: categories };
    });
    dimensions.push({ label: doc.metric, values: trials.map(function (t) { return t.value; }) });
    R.chart(part, 'Parallel coordinates', [{
      type: 'parcoords', dimensions: dimensions,
      line: { color: trials.map(function (t) { return t.value; }), colorscale: 'Viridis', showscale: true,
              reversescale: doc.direction === 'maximize' }
    }], { margin: { l: 80, r: 80, t: 90, b: 40 } });
  }

  function intermediateSection(doc) {
    var trials = doc.trials.filter(function (t) { return Array.isArray(t.intermediate) && t.intermediate.length; });
    if (!trials.length) return;
    var part = R.section('Intermediate values', 'What the pruner saw: each trial\'s reported values; pruned trials are red, dashed, ending in ×.');
    var traces = [];
    trials.forEach(function (t) {
      var points = t.intermediate.filter(function (p) { return R.isNumber(p[0]) && R.isNumber(p[1]); });
      var pruned = t.state === 'pruned';
      traces.push({ x: points.map(function (p) { return p[0]; }), y: points.map(function (p) { return p[1]; }),
                    type: 'scatter', mode: 'lines', name: 'trial ' + t.number + ' (' + t.state + ')',
                    legendgroup: t.state, line: { color: pruned ? stateColors.pruned : stateColors[t.state] || '#1f77b4',
                                                  dash: pruned ? 'dash' : 'solid', width: 1.5 } });
      if (pruned && points.length) {
        var last = points[points.length - 1];
        traces.push({ x: [last[0]], y: [last[1]], type: 'scatter', mode: 'markers', showlegend: false, legendgroup: t.state,
                      name: 'pruned: trial ' + t.number, marker: { symbol: 'x', size: 10, color: stateColors.pruned } });
      }
    });
    R.chart(part, 'Intermediate ' + doc.metric, traces, {
      xaxis: { title: { text: 'step' } }, yaxis: { title: { text: doc.metric } },
      updatemenus: [R.scaleButtons('yaxis', false)]
    });
  }

  function pbtSection(doc) {
    var generations = doc.pbt && doc.pbt.generations;
    if (!Array.isArray(generations) || !generations.length) return;
    var part = R.section('Population-based training', 'Each member\'s value per generation; a diamond marks a member that copied another\'s weights.');
    var byTrial = {};
    generations.forEach(function (g) {
      (g.members || []).forEach(function (m) {
        (byTrial[m.trial] = byTrial[m.trial] || []).push({ generation: g.generation, member: m });
      });
    });
    var traces = Object.keys(byTrial).map(function (trial, index) {
      var rows = byTrial[trial].filter(function (r) { return R.isNumber(r.member.value); });
      return { x: rows.map(function (r) { return r.generation; }), y: rows.map(function (r) { return r.member.value; }),
               type: 'scatter', mode: 'lines+markers', name: 'member ' + trial, line: { color: R.color(index) },
               marker: { size: rows.map(function (r) { return r.member.copied_from === null || r.member.copied_from === undefined ? 6 : 11; }),
                         symbol: rows.map(function (r) { return r.member.copied_from === null || r.member.copied_from === undefined ? 'circle' : 'diamond'; }) },
               text: rows.map(function (r) { return r.member.copied_from === null || r.member.copied_from === undefined ? '' : 'copied from ' + r.member.copied_from; }) };
    });
    R.chart(part, doc.metric + ' by generation', traces, {
      xaxis: { title: { text: 'generation' }, dtick: 1 }, yaxis: { title: { text: doc.metric } }
    });
    var rows = [];
    generations.forEach(function (g) {
      (g.members || []).forEach(function (m) { rows.push([g.generation, m.trial, m.value, m.copied_from, JSON.stringify(m.params || {})]); });
    });
    R.table(part, ['generation', 'member', doc.metric, 'copied from', 'params'], rows);
  }

  function trialsSection(doc) {
    var part = R.section('Trials');
    var names = [];
    doc.trials.forEach(function (t) { Object.keys(t.params || {}).forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); }); });
    R.table(part, ['trial', 'state', doc.metric].concat(names, ['wall time (s)', 'run folder']), doc.trials.map(function (t) {
      return [t.number, t.state, t.value].concat(names.map(function (n) { return t.params ? t.params[n] : null; }),
                                                   [t.wall_time_s, t.run_dir]);
    }));
  }

  function study(data) {
    var doc = data.study;
    var facts = R.section('Study');
    var pairs = [['metric', doc.metric + ' (' + doc.direction + ')'], ['sampler', doc.sampler], ['pruner', doc.pruner || 'none'],
                 ['trials', doc.trials.length]];
    if (doc.best) {
      pairs.push(['best trial', doc.best.number], ['best value', doc.best.value]);
      Object.keys(doc.best.params || {}).forEach(function (n) { pairs.push(['best ' + n, doc.best.params[n]]); });
    }
    R.facts(facts, pairs);
    historySection(doc);
    parallelSection(doc);
    intermediateSection(doc);
    pbtSection(doc);
    trialsSection(doc);
    if (doc.space) R.pre(R.section('Search space'), JSON.stringify(doc.space, null, 2));
  }

  return { study: study };
})();
