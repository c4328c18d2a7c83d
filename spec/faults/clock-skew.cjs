// Test-only preload that makes a daemon child's wall clock jump, without
// touching the machine's clock (which needs root and would disturb every
// other process): `NODE_OPTIONS=--require <this file>` with
// NIXFLEET_TEST_CLOCK_FILE naming a file that holds an offset in ms. Only
// JS `Date` moves: `Date.now()` and `new Date()` read real time + offset
// (rxjs's asyncScheduler.now() reads Date.now(), so the daemon's whole idea of
// "now" follows); timers and performance.now() stay monotonic, as they do
// when a real clock is stepped, and OpenSSL's certificate checks keep the
// real C clock. The file is re-read every 50 ms; a missing, empty or
// unparsable file (e.g. caught mid-write) keeps the last offset.
/* global process, require, setInterval */
'use strict';

const file = process.env.NIXFLEET_TEST_CLOCK_FILE;
if (file !== undefined && file !== '') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain CommonJS preload
  const fs = require('fs');
  const RealDate = Date;
  let offset = 0;
  const reread = () => {
    try {
      const text = fs.readFileSync(file, 'utf8').trim();
      const n = Number(text);
      if (text !== '' && Number.isFinite(n)) offset = n;
    } catch {
      // missing: keep the last offset
    }
  };
  reread();
  // A subclass of Date (statics such as parse and UTC inherited); a function
  // rather than a class so that `Date()` without `new` still works.
  function SkewedDate(...args) {
    if (new.target === undefined) return new RealDate(RealDate.now() + offset).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [RealDate.now() + offset] : args, new.target);
  }
  Object.setPrototypeOf(SkewedDate, RealDate);
  SkewedDate.prototype = Object.create(RealDate.prototype, { constructor: { value: SkewedDate, writable: true, configurable: true } });
  SkewedDate.now = () => RealDate.now() + offset;
  globalThis.Date = SkewedDate;
  setInterval(reread, 50).unref();
}
