// descent report: an optimizer comparison (descent compare): curves with ±std bands across seeds, box
// plots of the final metrics, and the statistics against the baseline.
var CompareReport = (function () {
  'use strict';
  var R = Report;

  function statText(stat) {
    if (!stat || !R.isNumber(stat.mean)) return '—';
    var text = R.fmt(stat.mean) + ' ± ' + R.fmt(stat.std);
    if (Array.isArray(stat.ci95)) text += ' [' + R.fmt(stat.ci95[0]) + ', ' + R.fmt(stat.ci95[1]) + ']';
    return text;
  }

  function okTrials(setup) {
    return (setup.trials || []).filter(function (trial) { return trial.status !== 'failed'; });
  }

  function statisticsSection(doc) {
    var part = R.section('Statistics',
      'mean ± standard deviation [95% confidence interval] across seeds; p values against the baseline ' +
      'with Holm\'s correction over the setups.');
    var key = 'final_' + doc.metric;
    var rows = doc.setups.map(function (setup) {
      var summary = setup.summary || {}, versus = setup.versus_baseline;
      return [setup.name + (setup.name === doc.baseline ? ' (baseline)' : ''),
              setup.optimizer ? setup.optimizer.name : '', statText(summary[key]), statText(summary['best_' + doc.metric]),
              statText(summary.steps_to_target), statText(summary.wall_time_s),
              versus ? versus.mean_difference : null, versus ? versus.cohens_d : null,
              versus ? versus.t_p_holm : null, versus ? versus.wilcoxon_p_holm : null];
    });
    R.table(part, ['setup', 'optimizer', 'final ' + doc.metric, 'best ' + doc.metric, 'steps to target',
                   'wall time (s)', 'difference', 'Cohen\'s d', 't-test p (Holm)', 'Wilcoxon p (Holm)'], rows);
    var facts = [['metric', doc.metric + ' (' + (doc.mode === 'max' ? 'higher' : 'lower') + ' is better)'],
                 ['tests compare', (doc.at || 'final') + ' values'],
                 ['baseline', doc.baseline], ['seeds', (doc.seeds || []).join(', ')]];
    if (doc.target) facts.push(['target', doc.target.metric + ' = ' + doc.target.value]);
    R.facts(part, facts);
  }

  // The metrics the trials' epoch tables share, main metric first.
  function curveMetrics(doc) {
    var found = [];
    doc.setups.forEach(function (setup) {
      okTrials(setup).forEach(function (trial) {
        Object.keys(trial.curves || {}).forEach(function (name) {
          if (/(loss|accuracy)$/.test(name) && found.indexOf(name) < 0) found.push(name);
        });
      });
    });
    found.sort(function (a, b) { return (b === doc.metric) - (a === doc.metric) || a.localeCompare(b); });
    return found;
  }

  function curvesSection(doc) {
    var metrics = curveMetrics(doc);
    if (!metrics.length) return;
    var part = R.section('Curves across seeds', 'Mean over the seeds of each setup, shaded ±1 standard deviation, by epoch.');
    metrics.forEach(function (metric) {
      var traces = [];
      doc.setups.forEach(function (setup, index) {
        var curves = okTrials(setup).map(function (trial) {
          return trial.curves ? R.pairs(trial.curves.epoch, trial.curves[metric]) : { x: [], y: [] };
        }).filter(function (curve) { return curve.x.length; });
        if (!curves.length) return;
        traces = traces.concat(R.bandTraces(setup.name, R.band(curves), R.color(index), 'setup' + index));
      });
      if (!traces.length) return;
      R.chart(part, metric, traces, {
        xaxis: { title: { text: 'epoch' } }, yaxis: { title: { text: metric } },
        updatemenus: [R.scaleButtons('yaxis', false)]
      });
    });
  }

  function boxesSection(doc) {
    var part = R.section('Final values', 'One point per seed; boxes show the median and quartiles.');
    var measures = [{ label: 'final ' + doc.metric, value: function (t) { return t.final ? t.final[doc.metric] : null; } },
                    { label: 'best ' + doc.metric, value: function (t) { return t.best ? t.best[doc.metric] : null; } },
                    { label: 'wall time (s)', value: function (t) { return t.wall_time_s; } }];
    measures.forEach(function (measure) {
      var traces = doc.setups.map(function (setup, index) {
        var values = okTrials(setup).map(measure.value).filter(R.isNumber);
        return { y: values, type: 'box', name: setup.name, boxpoints: 'all', jitter: 0.4, pointpos: 0,
                 marker: { color: R.color(index) }, line: { color: R.color(index) } };
      }).filter(function (trace) { return trace.y.length; });
      if (!traces.length) return;
      R.chart(part, measure.label, traces, { yaxis: { title: { text: measure.label } }, showlegend: false });
    });
  }

  function trialsSection(doc) {
    var part = R.section('Trials');
    var rows = [];
    doc.setups.forEach(function (setup) {
      (setup.trials || []).forEach(function (trial) {
        rows.push([setup.name, trial.seed, trial.status, trial.final ? trial.final[doc.metric] : null,
                   trial.best ? trial.best[doc.metric] : null, trial.steps_to_target, trial.time_to_target_s,
                   trial.wall_time_s, trial.peak_rss_mb, trial.run_dir, trial.error || '']);
      });
    });
    R.table(part, ['setup', 'seed', 'status', 'final ' + doc.metric, 'best ' + doc.metric, 'steps to target',
                   'time to target (s)', 'wall time (s)', 'peak RSS (MB)', 'run folder', 'error'], rows);
    var options = R.section('Setups');
    R.table(options, ['setup', 'optimizer', 'options'], doc.setups.map(function (setup) {
      var optimizer = setup.optimizer || {};
      return [setup.name, optimizer.name, JSON.stringify(optimizer.options || {})];
    }));
  }

  function comparison(data) {
    var doc = data.comparison;
    statisticsSection(doc);
    curvesSection(doc);
    boxesSection(doc);
    trialsSection(doc);
  }

  return { comparison: comparison };
})();
