// scripts/interop.d/codec.js -- `interop.js codec`: the wire layouts, and
// messages exchanged through files both ways (no network).
//
// 1. Compares the two field layouts (iso_8583's default formats against
//    `isoflow spec export iso87a-bbitmap`) and lists every field where they
//    differ; only fields laid out the same way on the wire are exchanged.
// 2. iso_8583 packs 0100, 0200 (every comparable field, secondary bitmap
//    included) and 0800 messages; `isoflow decode --frame len2` must give
//    back every field with the same value.
// 3. `isoflow encode --frame len2` packs the same messages; iso_8583 must
//    unpack every field with the same value.
// Returns the number of mismatches.
'use strict';
const lib = require('./lib');

module.exports = function codec(isoflow) {
  const { Iso8583, jsFormats } = lib;
  const run = (args, input) => lib.runIsoflow(isoflow, args, input);
  const ourSpec = JSON.parse(run(['spec', 'export', 'iso87a-bbitmap']));

  let failures = 0;
  const fail = (msg) => { failures++; console.log('  MISMATCH ' + msg); };

  // ---- 1. layouts ------------------------------------------------------------
  const prefixDigits = { fixed: 0, lvar: 1, llvar: 2, lllvar: 3, llllvar: 4, lllllvar: 5, llllllvar: 6 };
  const ourDigits = { fixed: 0, L: 1, LL: 2, LLL: 3, LLLL: 4, LLLLL: 5, LLLLLL: 6 };

  // The wire layout of a field in words both sides share: text or binary,
  // prefix digits, and the maximum in wire bytes (iso_8583 gives fixed binary
  // lengths in hex characters).
  function jsLayout(f) {
    const binary = f.ContentType === 'b';
    const max = binary && f.LenType === 'fixed' ? f.MaxLen / 2 : f.MaxLen;
    return { binary, digits: prefixDigits[f.LenType], max, content: f.ContentType };
  }
  function ourLayout(f) {
    return { binary: f.content === 'b', digits: ourDigits[f.length], max: f.max, content: f.content };
  }
  const show = (l) => (l.binary ? 'b' : l.content) + ' ' +
    (l.digits ? 'L'.repeat(l.digits) + ' ..' + l.max : 'fixed ' + l.max) +
    (l.binary ? ' bytes' : '');

  const comparable = [];
  const differing = [];
  for (let n = 2; n <= 128; n++) {
    if (n === 65) continue; // the tertiary-bitmap indicator, never a data field
    const js = jsFormats[n], ours = ourSpec.fields[String(n)];
    if (!js || !ours) { differing.push([n, js ? show(jsLayout(js)) : '-', ours ? show(ourLayout(ours)) : '-']); continue; }
    const a = jsLayout(js), b = ourLayout(ours);
    const sameWire = a.binary === b.binary && a.digits === b.digits && a.max === b.max &&
                     ours.encoding === (b.binary ? 'binary' : 'ascii') && n !== 127;
    if (sameWire) comparable.push(n);
    else differing.push([n, show(a) + (n === 127 ? ' (127.x sub-messages)' : ''), show(b)]);
  }
  console.log('layouts: ' + comparable.length + ' fields laid out alike; differing:');
  for (const [n, a, b] of differing) console.log(`  DE ${n}: iso_8583 ${a}; isoflow ${b}`);

  // ---- sample values that satisfy both sides' content rules ------------------
  function value(n, seed) {
    const f = ourSpec.fields[String(n)];
    const len = f.length === 'fixed' ? f.max : Math.min(f.max, 11 + (n % 7));
    const digits = (k) => Array.from({ length: k }, (_, i) => String((n * 7 + i * 3 + seed) % 10)).join('');
    switch (f.content) {
      case 'b': return Array.from({ length: len }, (_, i) => ((n * 37 + i * 11 + seed) & 255)
        .toString(16).padStart(2, '0')).join('').toUpperCase();
      case 'xn': return 'C' + digits(len - 1);
      case 'z': return '4761739001010119=2212201175892'.slice(0, len);
      default: {
        // Text: the stricter of the two content classes decides.
        const classes = [f.content, jsFormats[n].ContentType];
        if (classes.includes('n') || classes.includes('ns')) return digits(len);
        if (classes.includes('a')) return 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.repeat(4).slice(n % 7, n % 7 + len);
        return ('TERM' + n + 'X' + digits(len)).slice(0, len);
      }
    }
  }

  function message(mti, fields, seed) {
    const m = { 0: mti };
    for (const n of fields) if (comparable.includes(n)) m[n] = value(n, seed);
    return m;
  }
  const messages = [
    Object.assign(message('0100', [3, 4, 7, 11, 12, 13, 14, 18, 22, 25, 37, 41, 42, 43, 49, 52], 1), {
      2: '4761739001010119', 35: '4761739001010119=22122011758928889' }),
    message('0200', comparable, 2),
    message('0800', [7, 11, 70], 3),
  ];
  for (const m of messages) {
    for (const n of Object.keys(m)) if (n !== '0' && !comparable.includes(Number(n))) {
      console.log(`interop: DE ${n} used but not comparable`); process.exit(1);
    }
  }

  // iso_8583 always sends the secondary bitmap (bit 1 set), even empty;
  // isoflow sends it only when a field 66..128 is present.  Without an empty
  // secondary bitmap the two must be the very same bytes.
  function withoutEmptySecondary(frame) {
    const body = frame.subarray(2);
    if (!(body[4] & 0x80) || body.subarray(12, 20).some((b) => b !== 0)) return body;
    const out = Buffer.concat([body.subarray(0, 12), body.subarray(20)]);
    out[4] &= 0x7f;
    return out;
  }

  // Field-by-field comparison; binary values compared as hex, any case.
  function compare(what, want, got) {
    const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
    let same = 0;
    for (const k of keys) {
      const f = ourSpec.fields[k];
      const norm = (v) => (v !== undefined && f && f.content === 'b' ? v.toUpperCase() : v);
      if (norm(want[k]) !== norm(got[k])) fail(`${what} DE ${k}: sent ${JSON.stringify(want[k])}, got ${JSON.stringify(got[k])}`);
      else same++;
    }
    return same;
  }

  // ---- 2. iso_8583 packs, isoflow decodes -----------------------------------
  console.log('iso_8583 -> isoflow decode --spec iso87a-bbitmap --frame len2:');
  const frames = messages.map((m) => {
    const buf = new Iso8583(Object.assign({}, m)).getBufferMessage();
    if (!Buffer.isBuffer(buf)) { console.log('iso_8583 could not pack ' + m[0] + ': ' + JSON.stringify(buf)); process.exit(1); }
    return buf;
  });
  const decoded = run(['decode', '--spec', 'iso87a-bbitmap', '--frame', 'len2', '--unmasked'],
    Buffer.concat(frames)).toString().trim().split('\n').map((l) => JSON.parse(l));
  messages.forEach((m, i) => {
    const same = compare(`${m[0]} (iso_8583 -> isoflow)`, m, decoded[i] || {});
    console.log(`  ${m[0]}: ${Object.keys(m).length - 1} fields, ${same - 1} equal, ${frames[i].length - 2} bytes`);
  });

  // ---- 3. isoflow encodes, iso_8583 unpacks ---------------------------------
  console.log('isoflow encode --spec iso87a-bbitmap --frame len2 -> iso_8583:');
  const wire = run(['encode', '--spec', 'iso87a-bbitmap', '--frame', 'len2'],
    messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
  let at = 0;
  messages.forEach((m) => {
    const len = wire.readUInt16BE(at);
    const frame = wire.subarray(at, at + 2 + len);
    at += 2 + len;
    const got = new Iso8583().getIsoJSON(frame, {});
    if (got.error) { fail(`${m[0]}: iso_8583 could not unpack: ${got.error}`); return; }
    const same = compare(`${m[0]} (isoflow -> iso_8583)`, m, got);
    const theirs = frames[messages.indexOf(m)];
    const stripped = withoutEmptySecondary(theirs);
    const sameBytes = stripped.equals(frame.subarray(2));
    if (!sameBytes) fail(`${m[0]}: isoflow's bytes differ from iso_8583's`);
    console.log(`  ${m[0]}: ${Object.keys(m).length - 1} fields, ${same - 1} equal, ${len} bytes` +
                (sameBytes ? ', the bytes iso_8583 packs' +
                 (stripped.length < theirs.length - 2 ? ' less its empty secondary bitmap' : '') : ''));
  });
  if (at !== wire.length) fail('isoflow wrote bytes after the last frame');

  console.log(failures ? `codec: ${failures} mismatch(es)` : 'codec: all fields equal both ways');
  return failures;
};
