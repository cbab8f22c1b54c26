// scripts/interop.d/interop.js -- checks isoflow against the independent
// JavaScript ISO 8583 implementation `iso_8583` (npm), in the common 1987
// layout: ASCII, binary bitmap, 2-byte length header.  Subcommands, one file
// each (scripts/interop runs them; docs/INTEROP.md has the results):
//
//   node interop.js codec ISOFLOW NODE_MODULES
//       layouts compared, messages through `isoflow decode`/`encode` both
//       ways (codec.js); exit 0 when every field matches
//   node interop.js host NODE_MODULES [LIFETIME_MS]
//       an iso_8583 host on 127.0.0.1, free port printed as `listening PORT`;
//       answers by lib.answer; exits by itself after LIFETIME_MS (default
//       30000) (host.js)
//   node interop.js send ISOFLOW NODE_MODULES PORT
//       `isoflow send` against that host, each response checked field for
//       field (send.js); exit 0 when all match
//   node interop.js client ISOFLOW NODE_MODULES PORT OUT
//       an iso_8583 client sends 0200s to isoflow-issuer on 127.0.0.1:PORT,
//       each answer checked field for field; what the journal must hold is
//       written to OUT (client.js); exit 0 when all match
//   node interop.js journal ISOFLOW NODE_MODULES DB OUT
//       `isoflow journal show DB --json` holds each transaction of OUT
//       (client.js); exit 0 when all match
//
// Adding a mode:
// a file exporting one function, a line in `modes` below, and in
// scripts/interop the lines that start what it talks to.
'use strict';
const path = require('path');
const lib = require('./lib');

const usage = () => { console.error('usage: interop.js codec|host|send|client|journal ... (see the top of interop.js)'); process.exit(2); };
const [mode, ...args] = process.argv.slice(2);
const modes = {
  codec: () => require('./codec')(path.resolve(args[0])),
  host: () => require('./host')(Number(args[1] || 30000)),
  send: () => require('./send')(path.resolve(args[0]), Number(args[2])),
  client: () => require('./client').client(Number(args[2]), args[3]),
  journal: () => require('./client').journal(path.resolve(args[0]), args[2], args[3]),
};
if (!modes[mode]) usage();
// Every mode but host names the isoflow binary first, then node_modules.
lib.load(path.resolve(mode === 'host' ? args[0] : args[1] || ''));
const failures = modes[mode]();
if (typeof failures === 'number') process.exit(failures ? 1 : 0);
if (failures instanceof Promise) failures.then((n) => process.exit(n ? 1 : 0));
