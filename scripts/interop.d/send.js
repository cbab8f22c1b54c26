// scripts/interop.d/send.js -- `interop.js send`: `isoflow send` against the
// iso_8583 host (host.js) listening on 127.0.0.1:PORT.  Sends 0100 (approved
// and declined by amount), 0200 (approved, and one without an amount) and
// 0800 requests in one run, and checks every printed response field for
// field against what the host's rule (lib.answer) says it must hold: the
// response MTI, DE 39, DE 38 on approvals, and the echoed fields.
// Returns the number of mismatches.
'use strict';
const lib = require('./lib');

const requests = [
  { 0: '0100', 2: '4761739001010119', 3: '000000', 4: '000000012345', 7: '1123140501',
    11: '000101', 12: '140501', 13: '1123', 41: 'TERM0001', 42: 'MERCHANT0000001', 49: '978' },
  { 0: '0100', 2: '4761739001010119', 3: '000000', 4: '000000500000', 7: '1123140502',
    11: '000102', 41: 'TERM0001', 49: '978' },
  { 0: '0200', 2: '4761739001010119', 3: '000000', 4: '000000099999', 7: '1123140503',
    11: '000103', 37: '332714000103', 41: 'TERM0002', 49: '840' },
  { 0: '0200', 3: '000000', 7: '1123140504', 11: '000104', 41: 'TERM0002' },
  { 0: '0800', 7: '1123140505', 11: '000105', 70: '301' },
];

module.exports = function send(isoflow, port) {
  const args = ['send', '--spec', 'iso87a-bbitmap', '--frame', 'len2', '--to', `127.0.0.1:${port}`,
                '--timeout', '5000'];
  console.log(`isoflow ${args.join(' ')} -> iso_8583 host:`);
  const out = lib.runIsoflow(isoflow, args, requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const lines = out.toString().trim().split('\n');
  let failures = 0;
  requests.forEach((req, i) => {
    const want = lib.answer(req);
    let got = {};
    try { got = JSON.parse(lines[i]); } catch (e) { /* compared as empty below */ }
    const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort((a, b) => a - b);
    const bad = keys.filter((k) => want[k] !== got[k]);
    for (const k of bad) console.log(`  MISMATCH ${req[0]} stan ${req[11]} DE ${k}: want ${JSON.stringify(want[k])}, got ${JSON.stringify(got[k])}`);
    failures += bad.length;
    console.log(`  ${req[0]} stan ${req[11]}${req[4] ? ' amount ' + req[4] : ''}: ${lines[i] || '(no response)'}` +
                (bad.length ? '' : `  [${keys.length} fields as expected]`));
  });
  if (lines.length !== requests.length) {
    console.log(`  MISMATCH ${lines.length} responses printed for ${requests.length} requests`);
    failures++;
  }
  console.log(failures ? `send: ${failures} mismatch(es)` : 'send: every response as the host\'s rule says');
  return failures;
};
