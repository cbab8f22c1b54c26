// scripts/interop.d/client.js -- `interop.js client` and `interop.js journal`:
// iso_8583 as the client of isoflow-issuer.
//
// `client PORT OUT`: a TCP client built on iso_8583 connects to the issuer on
// 127.0.0.1:PORT, packs four 0200 requests itself (getBufferMessage, its
// 2-byte length header included) -- an approval, insufficient funds, a PAN
// failing Luhn, an expired card, each on a card of the issuer's built-in card
// book (examples/common/cards.h) -- sends them in one connection, unpacks
// every answer with getIsoJSON and checks it field for field: MTI 0210, DE 39
// as the issuer's rules say, DE 38 on the approval and only there, DE 3, 4,
// 11, 37, 41 and 49 echoed, and any other field equal to the request's.  Writes what each transaction must look like in
// the journal to OUT (JSON).  The whole exchange is bounded by a timer.
//
// `journal ISOFLOW DB OUT`: once the issuer has stopped, `isoflow journal show
// DB --json` must hold each of those transactions once, with the same STAN,
// RRN, terminal, MTI and response code.
//
// Both return (a promise of) the number of mismatches.
'use strict';
const fs = require('fs');
const net = require('net');
const lib = require('./lib');

// Built-in card `index`: "400000" + 9-digit index + Luhn check digit.
const luhnDigit = (digits) => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
};
const builtinPan = (index) => {
  const body = '400000' + String(index).padStart(9, '0');
  return body + luhnDigit(body);
};
const badLuhn = (pan) => pan.slice(0, -1) + String((Number(pan.slice(-1)) + 1) % 10);

// The requests and the DE 39 each must get (examples/common/cards.h: card
// 98 opens with 50.00, card 99 expired 01/2020, the others 5,000.00).
const cases = (now) => {
  const mmdd = now.toISOString().slice(5, 10).replace('-', '');
  const hhmmss = now.toISOString().slice(11, 19).replace(/:/g, '');
  const terminal = 'JS' + String(now.getTime() % 1000000).padStart(6, '0');
  const base = (stan, pan, amount) => ({
    0: '0200', 2: pan, 3: '000000', 4: amount, 7: mmdd + hhmmss, 11: stan,
    12: hhmmss, 13: mmdd, 37: '3327' + hhmmss.slice(0, 2) + stan, 41: terminal,
    42: 'MERCHANT0000001', 49: '978',
  });
  return [
    { what: 'approval', rc: '00', req: base('000201', builtinPan(1), '000000001000') },
    { what: 'insufficient funds', rc: '51', req: base('000202', builtinPan(98), '000000006000') },
    { what: 'bad Luhn', rc: '14', req: base('000203', badLuhn(builtinPan(2)), '000000001000') },
    { what: 'expired', rc: '54', req: base('000204', builtinPan(99), '000000001000') },
  ];
};

// Echoed fields the answer must carry; any other field it carries (the
// issuer also echoes DE 2, 7, 12, 13, 42 when sent) must equal the request's.
const ECHOED = [3, 4, 11, 37, 41, 49];

// PANs in what is printed: first 6, last 4.
const mask = (pan) => pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);

// Field-for-field check of one answer; returns the mismatches as text.
const check = (c, got) => {
  const bad = [];
  const want = (k, v) => { if (got[k] !== v) bad.push(`DE ${k}: want ${JSON.stringify(v)}, got ${JSON.stringify(got[k])}`); };
  want(0, '0210');
  want(39, c.rc);
  for (const n of ECHOED) want(n, c.req[n]);
  if (c.rc === '00' && !/^[0-9A-Za-z ]{6}$/.test(got[38] || '')) bad.push(`DE 38: want an authorization code, got ${JSON.stringify(got[38])}`);
  if (c.rc !== '00' && got[38] !== undefined) bad.push(`DE 38: want none on a decline, got ${JSON.stringify(got[38])}`);
  // Every other field the answer carries must be the request's, unchanged.
  for (const k of Object.keys(got)) {
    if (['0', '38', '39'].includes(k) || ECHOED.includes(Number(k))) continue;
    if (c.req[k] === undefined) bad.push(`DE ${k}: not in the request, got ${k === '2' ? mask(got[k]) : JSON.stringify(got[k])}`);
    else if (got[k] !== c.req[k]) bad.push(`DE ${k}: not echoed as sent`);
  }
  return bad;
};

const client = (port, out, timeoutMs = 10000) => new Promise((resolve) => {
  const all = cases(new Date());
  const answers = new Map();
  let failures = 0;
  const finish = (why) => {
    clearTimeout(timer);
    socket.destroy();
    if (why) { console.log(`  MISMATCH ${why}`); failures++; }
    for (const c of all) {
      const got = answers.get(c.req[11]);
      if (!got) { console.log(`  MISMATCH ${c.what} stan ${c.req[11]}: no answer`); failures++; continue; }
      const bad = check(c, got);
      for (const b of bad) console.log(`  MISMATCH ${c.what} stan ${c.req[11]} ${b}`);
      failures += bad.length;
      const shown = { ...got };
      if (shown[2] !== undefined) shown[2] = mask(shown[2]);
      delete shown[7]; delete shown[12]; delete shown[13]; delete shown[37]; delete shown[41];
      console.log(`  0200 ${c.what} (card ${mask(c.req[2])}, amount ${c.req[4]}) -> ` +
                  `${JSON.stringify(shown)}${bad.length ? '' : '  [as expected]'}`);
    }
    fs.writeFileSync(out, JSON.stringify(all.map((c) => ({
      what: c.what, mti: '0200', stan: c.req[11], rrn: c.req[37], terminal: c.req[41], rc: c.rc,
    }))));
    console.log(failures ? `client: ${failures} mismatch(es)` : 'client: every answer as the issuer\'s rules say');
    resolve(failures);
  };
  const timer = setTimeout(() => finish(`only ${answers.size} of ${all.length} answers within ${timeoutMs} ms`), timeoutMs);
  console.log(`iso_8583 client -> isoflow-issuer 127.0.0.1:PORT (iso87a-bbitmap, len2), ` +
              `DE 7, 12, 13, 37, 41 (checked) left out below, PAN masked:`);
  const socket = net.connect(port, '127.0.0.1', () => {
    for (const c of all) socket.write(new lib.Iso8583(c.req).getBufferMessage());
  });
  socket.on('error', (e) => finish(`socket: ${e.message}`));
  lib.readFrames(socket, (frame) => {
    let got;
    try { got = new lib.Iso8583().getIsoJSON(frame, {}); } catch (e) { got = { error: String(e) }; }
    if (got.error) { console.log(`  MISMATCH an answer iso_8583 cannot unpack: ${got.error}`); failures++; return; }
    answers.set(got[11], got);
    if (answers.size === all.length) finish();
  });
});

const journal = (isoflow, db, expectedFile) => {
  const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8'));
  console.log(`isoflow journal show DB --json:`);
  const rows = lib.runIsoflow(isoflow, ['journal', 'show', db, '--json']).toString()
    .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  let failures = 0;
  for (const e of expected) {
    const found = rows.filter((r) => r.stan === e.stan && r.terminal === e.terminal);
    const bad = [];
    if (found.length !== 1) bad.push(`${found.length} rows for terminal ${e.terminal} stan ${e.stan}`);
    const r = found[0] || {};
    for (const [k, v] of [['mti', e.mti], ['rrn', e.rrn], ['rc', e.rc], ['completed', true]]) {
      if (r[k] !== v) bad.push(`${k}: want ${JSON.stringify(v)}, got ${JSON.stringify(r[k])}`);
    }
    for (const b of bad) console.log(`  MISMATCH ${e.what}: ${b}`);
    failures += bad.length;
    console.log(`  id ${r.id}: ${e.what}: mti ${r.mti} stan ${r.stan} rrn ${r.rrn} terminal ${r.terminal} ` +
                `rc ${r.rc} decision ${r.decision}${bad.length ? '' : '  [as sent and answered]'}`);
  }
  if (rows.length !== expected.length) {
    console.log(`  MISMATCH ${rows.length} transactions journaled, ${expected.length} sent`);
    failures++;
  }
  console.log(failures ? `journal: ${failures} mismatch(es)` : 'journal: each transaction journaled once, as answered');
  return failures;
};

module.exports = { client, journal };
