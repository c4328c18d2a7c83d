#!/usr/bin/env node
// `npm start` runs the end-to-end demo (issue "Step 7 of 9"); until it exists, say so.
console.log('nixfleet-agent: the demo is not built yet (see the README). `npm test` runs the test suite.');
