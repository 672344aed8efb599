// descent report: a training run (descent train / resume) and an LR finder curve (descent lr-find).
var RunReport = (function () {
  'use strict';
  var R = Report;

  function summarySection(summary) {
    var part = R.section('Summary');
    if (!summary) {
      part.appendChild(R.el('p', 'note', 'No summary.json: the run has not finished a session.'));
      return;
    }
    var pairs = [['run folder', summary.run_dir], ['steps', summary.steps], ['epochs', summary.epochs],
                 ['wall time (s)', summary.wall_time_s], ['stopped', summary.stopped],
                 ['parameters', summary.parameters], ['steps skipped', summary.steps_skipped]];
    if (summary.best) pairs.push(['best ' + summary.best.monitor, R.fmt(summary.best.value) + ' (epoch ' + summary.best.epoch + ')']);
    [summary.final, summary.test].forEach(function (group) {
      Object.keys(group || {}).forEach(function (key) { pairs.push([key, group[key]]); });
    });
    R.facts(part, pairs);
  }

  // One chart of step and epoch records against the step: [{table, column, name, dash}].
  function curveChart(part, title, steps, epochs, series, yTitle, logToggle) {
    var traces = [];
    series.forEach(function (s, index) {
      var source = s.table === 'epochs' ? epochs : steps;
      var points = R.pairs(source.step, source[s.column]);
      if (!points.x.length) return;
      traces.push({ x: points.x, y: points.y, type: 'scatter', mode: s.table === 'epochs' ? 'lines+markers' : 'lines',
                    name: s.name, line: { color: R.color(index), dash: s.dash || 'solid', width: s.table === 'epochs' ? 2 : 1 } });
    });
    if (!traces.length) return false;
    R.chart(part, title, traces, {
      xaxis: { title: { text: 'step' } }, yaxis: { title: { text: yTitle } },
      updatemenus: logToggle ? [R.scaleButtons('yaxis', false)] : []
    });
    return true;
  }

  function run(data) {
    summarySection(data.summary);
    var steps = data.steps || {}, epochs = data.epochs || {};
    var part = R.section('Training curves', 'Thin lines: every logged step; lines with markers: epoch means ' +
                         'and validation. Buttons switch the y axis between linear and log scale.');
    var drew = curveChart(part, 'Loss', steps, epochs, [
      { table: 'steps', column: 'loss', name: 'train loss (step)' },
      { table: 'epochs', column: 'train_loss', name: 'train loss (epoch)' },
      { table: 'epochs', column: 'val_loss', name: 'validation loss', dash: 'dot' }], 'loss', true);
    drew = curveChart(part, 'Accuracy', steps, epochs, [
      { table: 'steps', column: 'train_accuracy', name: 'train accuracy (running)' },
      { table: 'epochs', column: 'train_accuracy', name: 'train accuracy (epoch)' },
      { table: 'epochs', column: 'val_accuracy', name: 'validation accuracy', dash: 'dot' }], 'accuracy', true) || drew;
    drew = curveChart(part, 'Gradient norm', steps, epochs, [
      { table: 'steps', column: 'grad_norm', name: 'global gradient norm' }], 'norm', true) || drew;
    drew = curveChart(part, 'Learning rate', steps, epochs, [
      { table: 'steps', column: 'lr', name: 'learning rate' }], 'lr', true) || drew;
    drew = curveChart(part, 'Step time', steps, epochs, [
      { table: 'steps', column: 'step_time_ms', name: 'step time (ms)' }], 'ms', false) || drew;
    // Every other metric the epochs record for both splits (mae, mse, top-5 accuracy, ..): one chart each.
    var extra = [];
    Object.keys(epochs).forEach(function (name) {
      var match = /^(?:train|val)_(.+)$/.exec(name);
      if (match && match[1] !== 'loss' && match[1] !== 'accuracy' && extra.indexOf(match[1]) < 0) extra.push(match[1]);
    });
    extra.forEach(function (metric) {
      drew = curveChart(part, metric, steps, epochs, [
        { table: 'epochs', column: 'train_' + metric, name: 'train ' + metric },
        { table: 'epochs', column: 'val_' + metric, name: 'validation ' + metric, dash: 'dot' }], metric, true) || drew;
    });
    if (!drew) part.appendChild(R.el('p', 'note', 'The run has no step or epoch records yet.'));

    var epochNames = Object.keys(epochs);
    if (epochNames.length && epochs.epoch && epochs.epoch.length) {
      var table = R.section('Epochs');
      R.table(table, epochNames, epochs.epoch.map(function (_, row) {
        return epochNames.map(function (name) { return epochs[name][row]; });
      }));
    }
    if (data.config) R.pre(R.section('Config'), data.config);
  }

  function lrFind(data) {
    var curve = data.lr_find;
    var suggestions = curve.suggestions || {};
    var names = Object.keys(suggestions).filter(function (name) { return R.isNumber(suggestions[name]); });
    var part = R.section('Learning-rate range test',
      'Loss against the learning rate (log scale); dashed lines mark the suggested learning rates.');
    var raw = R.pairs(curve.lrs, curve.losses);
    var smooth = R.pairs(curve.lrs, curve.smoothed_losses);
    var traces = [{ x: raw.x, y: raw.y, type: 'scatter', mode: 'lines', name: 'loss', line: { color: '#9aa5b1', width: 1 } }];
    if (smooth.x.length) traces.push({ x: smooth.x, y: smooth.y, type: 'scatter', mode: 'lines', name: 'smoothed loss', line: { color: R.color(0), width: 2 } });
    var reference = smooth.x.length ? smooth : raw;
    var shapes = [];
    names.forEach(function (name, index) {
      var lr = suggestions[name];
      var nearest = 0;
      reference.x.forEach(function (x, i) { if (Math.abs(Math.log(x / lr)) < Math.abs(Math.log(reference.x[nearest] / lr))) nearest = i; });
      var hex = R.color(index + 1);
      shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: lr, x1: lr, y0: 0, y1: 1, line: { color: hex, dash: 'dash', width: 1 } });
      traces.push({ x: [lr], y: [reference.y[nearest]], type: 'scatter', mode: 'markers', name: name + ': ' + R.fmt(lr),
                    marker: { color: hex, size: 11, symbol: 'diamond', line: { color: '#000', width: 1 } } });
    });
    // Once the loss diverges it dwarfs the useful part: the y axis starts at the start loss plus half the
    // drop (autoscale in the mode bar shows all of it).
    var yaxis = { title: { text: 'loss' } };
    var low = Math.min.apply(null, reference.y.concat(raw.y)), start = reference.y[0], high = Math.max.apply(null, raw.y);
    if (reference.y.length && high > start + (start - low)) {
      var top = start + 0.5 * (start - low) + 1e-12;
      yaxis.range = [low - 0.05 * (top - low), top];
    }
    R.chart(part, 'Loss against learning rate', traces, {
      xaxis: { type: 'log', title: { text: 'learning rate' } }, yaxis: yaxis, shapes: shapes,
      updatemenus: [{ type: 'buttons', direction: 'right', showactive: true, active: 0, x: 0, xanchor: 'left', y: 1.02,
                      yanchor: 'bottom', buttons: [
                        { label: 'y linear', method: 'relayout', args: [yaxis.range ? { 'yaxis.type': 'linear', 'yaxis.range': yaxis.range } : { 'yaxis.type': 'linear' }] },
                        { label: 'y log', method: 'relayout', args: [{ 'yaxis.type': 'log', 'yaxis.autorange': true }] }] }]
    });
    R.table(R.section('Suggestions'), ['rule', 'learning rate'], names.map(function (name) { return [name, suggestions[name]]; }));
    if (curve.diverged !== undefined || curve.options) {
      var facts = [['diverged', curve.diverged ? 'yes' : 'no'], ['config', curve.config]];
      Object.keys(curve.options || {}).forEach(function (key) { facts.push([key, curve.options[key]]); });
      R.facts(R.section('Settings'), facts);
    }
  }

  return { run: run, lr_find: lrFind };
})();
