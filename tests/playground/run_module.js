// Sends requests through the playground's WebAssembly module under node, for tests/playground:
//   node run_module.js MODULE.js REQUESTS.json > RESPONSES.json
// REQUESTS is [{"method", "request"}, ...]; RESPONSES is the module's answers in order.
'use strict';
const fs = require('fs');
const path = require('path');

const [modulePath, requestsPath] = process.argv.slice(2);
if (!modulePath || !requestsPath) {
  console.error('usage: node run_module.js MODULE.js REQUESTS.json');
  process.exit(2);
}
// Built with synchronous WebAssembly compilation, the factory returns the module itself, not a promise.
Promise.resolve(require(path.resolve(modulePath))())
  .then((engine) => {
    const requests = JSON.parse(fs.readFileSync(requestsPath, 'utf8'));
    const responses = requests.map(({ method, request }) => JSON.parse(engine.call(method, JSON.stringify(request))));
    process.stdout.write(JSON.stringify(responses));
  })
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
