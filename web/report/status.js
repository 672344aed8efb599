// descent report: the first script on the page. It records every error (uncaught exceptions, rejected
// promises, console.error, blocked network requests) and counts the charts expected against the charts
// drawn. When the page is done, the result is written as JSON into <pre id="descent-report-status">, where
// a headless browser test reads it: {"expected": N, "drawn": N, "errors": [..]}.
(function () {
  'use strict';
  var status = { expected: 0, drawn: 0, errors: [], failed: [] };
  window.descentStatus = status;

  function record(message) {
    status.errors.push(String(message).slice(0, 1000));
  }
  window.addEventListener('error', function (event) {
    if (event.target && event.target !== window && event.target.tagName) {
      record('failed to load a ' + event.target.tagName.toLowerCase() + ' element');
    } else {
      record((event.message || 'error') + (event.filename ? ' at line ' + event.lineno : ''));
    }
  }, true);
  window.addEventListener('unhandledrejection', function (event) {
    var reason = event.reason;
    record('unhandled rejection: ' + (reason && reason.stack ? reason.stack : reason));
  });
  // The page must stay offline: any request the content policy blocks is an error of the page.
  document.addEventListener('securitypolicyviolation', function (event) {
    record('blocked by the content policy: ' + event.violatedDirective + ' ' + event.blockedURI);
  });
  var consoleError = console.error;
  console.error = function () {
    record(Array.prototype.map.call(arguments, function (part) {
      return part && part.stack ? part.stack : String(part);
    }).join(' '));
    return consoleError.apply(console, arguments);
  };

  // Published after two animation frames, so that "done" also means the charts were painted (a
  // screenshot taken then shows the final layout).
  window.descentPublishStatus = function () {
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        var element = document.getElementById('descent-report-status');
        element.textContent = JSON.stringify(status);
        element.setAttribute('data-state', 'done');
      });
    });
  };
})();
