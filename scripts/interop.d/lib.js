// scripts/interop.d/lib.js -- what the interop subcommands share: the
// iso_8583 package (from the node_modules directory interop.js was given),
// running the isoflow binary, reading 2-byte-length frames off a TCP stream,
// and the rule by which the test host answers (so the checker knows what
// each response must hold).
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');

const lib = module.exports;

// Loads iso_8583 from NODE_MODULES_DIR; every subcommand calls this first.
lib.load = (modules) => {
  lib.Iso8583 = require(path.join(modules, 'iso_8583'));
  lib.jsFormats = require(path.join(modules, 'iso_8583', 'lib', 'formats.js'));
};

// Runs isoflow with args and input; a failure (exit status 2 on bad input)
// ends the check.  Returns stdout as a Buffer.
lib.runIsoflow = (isoflow, args, input) => {
  try {
    return execFileSync(isoflow, args, { input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30000 });
  } catch (e) {
    console.log(`interop: isoflow ${args.join(' ')} failed (${e.status}): ${e.stderr}`);
    process.exit(1);
  }
};

// Calls onFrame(frame) for every whole frame arriving on socket, the 2-byte
// big-endian length included (the form iso_8583's getIsoJSON reads);
// zero-length keep-alives are skipped.  A frame over `max` bytes closes the
// socket.
lib.readFrames = (socket, onFrame, max = 8192) => {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (len > max) { socket.destroy(); return; }
      if (buf.length < 2 + len) break;
      const frame = buf.subarray(0, 2 + len);
      buf = buf.subarray(2 + len);
      if (len) onFrame(frame);
    }
  });
};

// ---- the host's rule ------------------------------------------------------
// Fields a response echoes from its request, when present.
lib.ECHOED = [3, 4, 7, 11, 12, 13, 37, 41, 42, 49, 70];
// Authorizations and financial requests are approved up to 1000.00 (DE 4
// 000000100000) and declined 51 (insufficient funds) above; one with no
// amount is a format error (30).  Network management (08xx) is always 00.
lib.responseCode = (req) => {
  if (req[0].startsWith('08')) return '00';
  if (req[4] === undefined) return '30';
  return Number(req[4]) <= 100000 ? '00' : '51';
};
// The response the host sends to `req` (iso_8583 JSON: field number -> value),
// or null for an MTI it does not answer (anything but 0100, 0200, 0800).
lib.answer = (req) => {
  const mti = { '0100': '0110', '0200': '0210', '0800': '0810' }[req[0]];
  if (!mti) return null;
  const resp = { 0: mti };
  for (const n of lib.ECHOED) if (req[n] !== undefined) resp[n] = req[n];
  resp[39] = lib.responseCode(req);
  if (resp[39] === '00' && !mti.startsWith('08')) resp[38] = 'AP' + String(req[11] || '0000').slice(-4);
  return resp;
};
