// descent report: reads the embedded data, writes the header and draws the sections of its kind. Any
// failure is shown on the page and recorded for the status element (status.js).
(function () {
  'use strict';
  var R = Report;
  var kinds = {
    run: ['training run', RunReport.run],
    lr_find: ['learning-rate finder', RunReport.lr_find],
    comparison: ['optimizer comparison', CompareReport.comparison],
    study: ['hyperparameter study', StudyReport.study],
    trajectories: ['optimizer trajectories', VisualReport.trajectories],
    momentum_study: ['momentum study', VisualReport.momentum_study],
    landscape: ['loss landscape', VisualReport.landscape],
    sharpness: ['sharpness study', VisualReport.sharpness],
    regularization: ['regularisation study', VisualReport.regularization]
  };

  function header(data, kindName) {
    var node = document.getElementById('descent-report-header');
    node.appendChild(R.el('p', 'kind', 'descent · ' + kindName));
    node.appendChild(R.el('h1', null, data.title));
    node.appendChild(R.el('p', 'meta', data.dir + ' · generated ' + data.generated));
  }

  function render() {
    var data = JSON.parse(document.getElementById('descent-report-data').textContent);
    var kind = kinds[data.kind];
    if (!kind) throw new Error('unknown report kind: ' + data.kind);
    header(data, kind[0]);
    kind[1](data);
  }

  try {
    render();
  } catch (error) {
    var message = R.el('p', 'error', 'This report could not be drawn: ' + (error && error.message ? error.message : error));
    document.getElementById('descent-report').appendChild(message);
    window.descentStatus.errors.push('render: ' + (error && error.stack ? error.stack : error));
  }
  R.finish();
})();
