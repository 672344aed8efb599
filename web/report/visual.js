// descent report: the studies of how optimizers move: trajectories on 2-D test functions, momentum on
// quadratics, loss landscapes, sharpness and regularisation.
var VisualReport = (function () {
  'use strict';
  var R = Report;

  function finite(values) {
    return (values || []).filter(R.isNumber);
  }

  // The function's surface as log10(f - f* + tiny): test functions span many decades.
  function logSurface(grid, minimumValue) {
    var lowest = Math.min.apply(null, grid.z.map(function (row) { return Math.min.apply(null, finite(row)); }));
    var floor = R.isNumber(minimumValue) ? Math.min(minimumValue, lowest) : lowest;
    return grid.z.map(function (row) {
      return row.map(function (z) { return R.isNumber(z) ? Math.log10(z - floor + 1e-12) : null; });
    });
  }

  function trajectories(data) {
    var doc = data.trajectories, fn = doc.function, optimizers = doc.optimizers || [];
    var facts = [['function', fn.spec || fn.name], ['dimensions', fn.dims], ['start', JSON.stringify(doc.start)], ['steps', doc.steps],
                 ['tolerance', doc.tolerance], ['minimum value', fn.minimum_value]];
    R.facts(R.section('Setting'), facts);

    var part = R.section('Paths', 'The function as contours of log10(f − f*) (for more than two dimensions, on the slice through ' +
                         'the grid\'s point, paths projected on the first two coordinates); ★ marks the minima, × stationary points. ' +
                         'Press play or drag the slider to follow the optimizers step by step.');
    var traces = [];
    if (fn.grid && Array.isArray(fn.grid.z)) {
      traces.push({ type: 'contour', x: fn.grid.x, y: fn.grid.y, z: logSurface(fn.grid, fn.minimum_value), name: fn.name,
                    colorscale: 'Greys', reversescale: true, ncontours: 30, showscale: true, opacity: 0.75,
                    contours: { coloring: 'heatmap' }, colorbar: { title: { text: 'log10(f − f*)' }, x: 1.02 },
                    hovertemplate: 'x %{x:.3g}, y %{y:.3g}<br>log10(f − f*) %{z:.3g}<extra></extra>' });
    }
    var minima = fn.minima || [];
    if (minima.length) traces.push({ type: 'scatter', mode: 'markers', name: 'minimum', x: minima.map(function (m) { return m[0]; }),
                  y: minima.map(function (m) { return m[1]; }), marker: { symbol: 'star', size: 16, color: '#ffd700', line: { color: '#000', width: 1 } } });
    var stationary = fn.stationary_points || [];
    if (stationary.length) traces.push({ type: 'scatter', mode: 'markers', name: 'stationary point',
      x: stationary.map(function (m) { return m[0]; }), y: stationary.map(function (m) { return m[1]; }),
      marker: { symbol: 'x', size: 14, color: '#ff4136', line: { color: '#000', width: 1 } } });
    var first = traces.length;
    var longest = 1;
    optimizers.forEach(function (o) { longest = Math.max(longest, (o.path || []).length); });
    optimizers.forEach(function (o, index) {
      var path = o.path || [];
      traces.push({ type: 'scatter', mode: 'lines', name: o.label, legendgroup: 'o' + index, x: path.map(function (p) { return p[0]; }),
                    y: path.map(function (p) { return p[1]; }), line: { color: R.color(index), width: 2 } });
      var last = path[path.length - 1] || [null, null];
      traces.push({ type: 'scatter', mode: 'markers', name: o.label, legendgroup: 'o' + index, showlegend: false,
                    x: [last[0]], y: [last[1]], marker: { color: R.color(index), size: 10, line: { color: '#fff', width: 1 } } });
    });
    // Frames: the paths up to a step, at most 80 of them, the last showing the whole run.
    var frameCount = Math.min(80, longest);
    var frames = [], steps = [];
    var indices = [];  // each optimizer's path and head traces
    optimizers.forEach(function (_, i) { indices.push(first + 2 * i, first + 2 * i + 1); });
    for (var k = 0; k < frameCount; k += 1) {
      var step = frameCount === 1 ? longest - 1 : Math.round(k * (longest - 1) / (frameCount - 1));
      var frameData = [];
      optimizers.forEach(function (o) {
        var path = (o.path || []).slice(0, step + 1);
        var head = path[path.length - 1] || [null, null];
        frameData.push({ x: path.map(function (p) { return p[0]; }), y: path.map(function (p) { return p[1]; }) });
        frameData.push({ x: [head[0]], y: [head[1]] });
      });
      frames.push({ name: 'step ' + step, data: frameData, traces: indices });
      steps.push({ label: String(step), method: 'animate',
                   args: [['step ' + step], { mode: 'immediate', frame: { duration: 0, redraw: false }, transition: { duration: 0 } }] });
    }
    var bounds = fn.bounds || [];
    R.chart(part, 'Trajectories on ' + fn.name, traces, {
      height: 640,
      xaxis: { title: { text: 'x' }, range: bounds[0], zeroline: false }, yaxis: { title: { text: 'y' }, range: bounds[1], zeroline: false },
      legend: { x: 1.12 },
      updatemenus: [{ type: 'buttons', showactive: false, x: 0, y: -0.12, xanchor: 'left', yanchor: 'top', direction: 'right',
        buttons: [{ label: '▶ play', method: 'animate',
                    args: [null, { fromcurrent: true, frame: { duration: 60, redraw: false }, transition: { duration: 0 } }] },
                  { label: '❚❚ pause', method: 'animate',
                    args: [[null], { mode: 'immediate', frame: { duration: 0, redraw: false }, transition: { duration: 0 } }] }] }],
      sliders: [{ active: steps.length - 1, steps: steps, x: 0.18, len: 0.8, y: -0.08, yanchor: 'top',
                  currentvalue: { prefix: 'step ', visible: true } }],
      margin: { l: 70, r: 30, t: 90, b: 120 }
    }, frames);

    var values = R.section('Function value by step');
    R.chart(values, 'f along each path', optimizers.map(function (o, index) {
      var path = o.path || [];
      return { type: 'scatter', mode: 'lines', name: o.label, x: path.map(function (_, i) { return i; }),
               y: path.map(function (p) { return p[p.length - 1]; }), line: { color: R.color(index) } };
    }), { xaxis: { title: { text: 'step' } }, yaxis: { title: { text: 'f' } }, updatemenus: [R.scaleButtons('yaxis', false)] });

    R.table(R.section('Optimizers'), ['label', 'optimizer', 'options', 'schedule', 'final value', 'distance to minimum',
                                      'steps to tolerance', 'diverged at step', 'gradient evaluations'], optimizers.map(function (o) {
      return [o.label, o.name, JSON.stringify(o.options || {}), o.schedule ? JSON.stringify(o.schedule) : '—', o.final_value,
              R.isNumber(o.distance_to_minimum) ? o.distance_to_minimum : o.distance_to_stationary_point, o.steps_to_tolerance,
              o.diverged_at_step, o.gradient_evaluations];
    }));
  }

  function momentumStudy(data) {
    var doc = data.momentum_study;
    var part = R.section('Convergence rate', 'Measured linear rate (lower is faster; 1 or more does not converge) over ' +
                         'the learning rate and momentum; ★ is the theoretical optimum, ○ the best measured.');
    // Colours span the measured rates up to 1; everything at or above 1 (no convergence) shares the end colour.
    var lowest = Math.min.apply(null, [1].concat(finite([].concat.apply([], doc.rate))));
    var traces = [{ type: 'heatmap', x: doc.lrs, y: doc.momenta, z: doc.rate, zmin: lowest, zmax: 1, colorscale: 'Viridis',
                    reversescale: true, colorbar: { title: { text: 'rate' } }, name: 'measured rate',
                    hovertemplate: 'lr %{x:.3g}, momentum %{y:.3g}<br>rate %{z:.4g}<extra></extra>' }];
    if (doc.theory) traces.push({ type: 'scatter', mode: 'markers', name: 'theory: rate ' + R.fmt(doc.theory.rate),
      x: [doc.theory.lr], y: [doc.theory.momentum], marker: { symbol: 'star', size: 18, color: '#ff4136', line: { color: '#fff', width: 1 } } });
    if (doc.measured_best) traces.push({ type: 'scatter', mode: 'markers', name: 'measured best: rate ' + R.fmt(doc.measured_best.rate),
      x: [doc.measured_best.lr], y: [doc.measured_best.momentum], marker: { symbol: 'circle-open', size: 16, color: '#fff', line: { width: 3 } } });
    R.chart(part, 'Rate over learning rate × momentum (condition number ' + R.fmt(doc.condition_number) + ')', traces, {
      height: 560, xaxis: { type: 'log', title: { text: 'learning rate' } }, yaxis: { title: { text: 'momentum' } },
      legend: { x: 0, y: -0.2, orientation: 'h' }, margin: { l: 70, r: 30, t: 90, b: 110 }
    });
    var rows = [];
    if (doc.theory) rows.push(['theory (' + doc.theory.source + ')', doc.theory.lr, doc.theory.momentum, doc.theory.rate]);
    if (doc.theory && R.isNumber(doc.theory.rate_measured)) rows.push(['theory, measured', doc.theory.lr, doc.theory.momentum, doc.theory.rate_measured]);
    if (doc.measured_best) rows.push(['measured best', doc.measured_best.lr, doc.measured_best.momentum, doc.measured_best.rate]);
    if (doc.gd) {
      rows.push(['gradient descent, theory', doc.gd.lr, 0, doc.gd.rate_theory]);
      rows.push(['gradient descent, measured', doc.gd.lr, 0, doc.gd.rate_measured]);
    }
    var table = R.section('Optimum');
    R.table(table, ['', 'learning rate', 'momentum', 'rate'], rows);
    R.facts(table, [['condition number', doc.condition_number], ['μ', doc.mu], ['L', doc.L]]);
  }

  function landscape(data) {
    var doc = data.landscape;
    R.facts(R.section('Run'), [['run folder', doc.run_dir]]);
    var line = doc.line || {};
    var part = R.section('Between initialisation and the trained weights', 'Loss along θ(α) = (1 − α)·θ₀ + α·θ; α = 0 is the initialisation, 1 the trained network.');
    var traces = [];
    [['train_loss', 'train loss'], ['val_loss', 'validation loss']].forEach(function (pair, index) {
      var points = R.pairs(line.alphas, line[pair[0]]);
      if (points.x.length) traces.push({ type: 'scatter', mode: 'lines+markers', name: pair[1], x: points.x, y: points.y, line: { color: R.color(index) } });
    });
    if (traces.length) R.chart(part, 'Loss along the line', traces, {
      xaxis: { title: { text: 'α' } }, yaxis: { title: { text: 'loss' } }, updatemenus: [R.scaleButtons('yaxis', false)]
    });
    var surface = doc.surface;
    if (surface && Array.isArray(surface.loss)) {
      var plane = R.section('Around the trained weights', 'Loss on a plane through the trained weights along two random ' +
                            (surface.normalization || '') + '-normalised directions; ● marks the trained weights.');
      R.chart(plane, 'Loss surface', [
        { type: 'contour', x: surface.x, y: surface.y, z: surface.loss, colorscale: 'Viridis', ncontours: 30, name: 'loss',
          colorbar: { title: { text: 'loss' } }, hovertemplate: 'x %{x:.3g}, y %{y:.3g}<br>loss %{z:.4g}<extra></extra>' },
        { type: 'scatter', mode: 'markers', name: 'trained', x: [0], y: [0], marker: { color: '#ff4136', size: 12, line: { color: '#fff', width: 1 } } }
      ], { height: 560, xaxis: { title: { text: 'direction 1' }, zeroline: false }, yaxis: { title: { text: 'direction 2' }, scaleanchor: 'x', zeroline: false } });
    }
    var hessian = doc.hessian;
    if (hessian && Array.isArray(hessian.iterations)) {
      var top = R.section('Sharpness', 'The estimate of the largest Hessian eigenvalue at each iteration' +
                          (hessian.method ? ' (' + hessian.method + ')' : '') + '; the dashed line is the final value.');
      R.chart(top, 'Top Hessian eigenvalue', [
        { type: 'scatter', mode: 'lines+markers', name: 'estimate', x: hessian.iterations.map(function (_, i) { return i + 1; }), y: hessian.iterations }
      ], { xaxis: { title: { text: 'iteration' } }, yaxis: { title: { text: 'eigenvalue' } },
           shapes: R.isNumber(hessian.top_eigenvalue) ? [{ type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: hessian.top_eigenvalue,
                                                           y1: hessian.top_eigenvalue, line: { dash: 'dash', color: '#d62728' } }] : [] });
      R.facts(top, [['top eigenvalue', hessian.top_eigenvalue], ['iterations', hessian.iterations.length]]);
    }
  }

  function sharpness(data) {
    var runs = data.sharpness.runs || [];
    var part = R.section('Top Hessian eigenvalue', 'Sharper minima have larger top eigenvalues.');
    var optimizers = [];
    runs.forEach(function (r) { if (optimizers.indexOf(r.optimizer) < 0) optimizers.push(r.optimizer); });
    R.chart(part, 'Sharpness by run', optimizers.map(function (name, index) {
      var mine = runs.filter(function (r) { return r.optimizer === name; });
      return { type: 'bar', name: name, x: mine.map(function (r) { return r.label; }), y: mine.map(function (r) { return r.top_eigenvalue; }),
               marker: { color: R.color(index) } };
    }), { yaxis: { title: { text: 'top eigenvalue' } }, xaxis: { type: 'category' } });
    var metrics = [];
    runs.forEach(function (r) { Object.keys(r.final || {}).forEach(function (m) { if (metrics.indexOf(m) < 0) metrics.push(m); }); });
    if (metrics.indexOf('val_loss') >= 0) {
      R.chart(part, 'Sharpness against validation loss', optimizers.map(function (name, index) {
        var mine = runs.filter(function (r) { return r.optimizer === name && r.final && R.isNumber(r.final.val_loss); });
        return { type: 'scatter', mode: 'markers', name: name, x: mine.map(function (r) { return r.top_eigenvalue; }),
                 y: mine.map(function (r) { return r.final.val_loss; }), text: mine.map(function (r) { return r.label; }),
                 marker: { size: 11, color: R.color(index) } };
      }), { xaxis: { title: { text: 'top eigenvalue' } }, yaxis: { title: { text: 'final validation loss' } } });
    }
    R.table(R.section('Runs'), ['label', 'optimizer', 'top eigenvalue'].concat(metrics, ['run folder']), runs.map(function (r) {
      return [r.label, r.optimizer, r.top_eigenvalue].concat(metrics.map(function (m) { return r.final ? r.final[m] : null; }), [r.run_dir]);
    }));
  }

  function regularization(data) {
    var variants = data.regularization.variants || [];
    var part = R.section('Generalisation gap', 'Validation minus training: a larger loss gap (or accuracy gap, training minus validation) means more overfitting.');
    [['loss', 'loss gap (val − train)'], ['accuracy', 'accuracy gap (train − val)']].forEach(function (pair, index) {
      R.chart(part, pair[1], [{ type: 'bar', name: pair[1], x: variants.map(function (v) { return v.name; }),
                                y: variants.map(function (v) { return v.gap ? v.gap[pair[0]] : null; }), marker: { color: R.color(index) } }],
              { xaxis: { type: 'category' }, yaxis: { title: { text: pair[1] } }, showlegend: false, height: 360 });
    });
    var curves = R.section('Curves', 'Solid: training; dotted: validation; by epoch.');
    ['loss', 'accuracy'].forEach(function (metric) {
      var traces = [];
      variants.forEach(function (v, index) {
        if (!v.curves) return;
        [['train_', 'train', 'solid'], ['val_', 'val', 'dot']].forEach(function (split) {
          var points = R.pairs(v.curves.epoch, v.curves[split[0] + metric]);
          if (points.x.length) traces.push({ type: 'scatter', mode: 'lines', name: v.name + ' ' + split[1], legendgroup: 'v' + index,
                                             x: points.x, y: points.y, line: { color: R.color(index), dash: split[2] } });
        });
      });
      if (traces.length) R.chart(curves, metric, traces, { xaxis: { title: { text: 'epoch' } }, yaxis: { title: { text: metric } },
                                                           updatemenus: [R.scaleButtons('yaxis', false)] });
    });
    R.table(R.section('Variants'), ['variant', 'train loss', 'val loss', 'train accuracy', 'val accuracy', 'loss gap',
                                    'accuracy gap', 'run folder'], variants.map(function (v) {
      var f = v.final || {}, g = v.gap || {};
      return [v.name, f.train_loss, f.val_loss, f.train_accuracy, f.val_accuracy, g.loss, g.accuracy, v.run_dir];
    }));
  }

  return { trajectories: trajectories, momentum_study: momentumStudy, landscape: landscape, sharpness: sharpness,
           regularization: regularization };
})();
