// scripts/interop.d/host.js -- `interop.js host`: an independent ISO 8583
// host built on iso_8583.  Listens on 127.0.0.1 (port 0: the kernel picks a
// free one, printed as `listening PORT` on stdout), reads 2-byte-length
// frames, unpacks each request with iso_8583, and answers 0100/0200/0800
// with 0110/0210/0810 packed by iso_8583, by the rule in lib.answer.
// Exits by itself after `lifetimeMs` (and on SIGTERM); the calling script
// kills it on exit too.  One line per request and response on stderr
// (MTI, STAN, response code: never card data).
'use strict';
const net = require('net');
const lib = require('./lib');

module.exports = function host(lifetimeMs) {
  const server = net.createServer((socket) => {
    lib.readFrames(socket, (frame) => {
      const req = new lib.Iso8583().getIsoJSON(frame, {});
      if (req.error) { console.error(`host: cannot unpack a request: ${req.error}`); socket.destroy(); return; }
      const resp = lib.answer(req);
      console.error(`host: ${req[0]} stan ${req[11]} -> ${resp ? resp[0] + ' rc ' + resp[39] : 'no answer'}`);
      if (!resp) return;
      const out = new lib.Iso8583(resp).getBufferMessage();
      if (!Buffer.isBuffer(out)) { console.error(`host: cannot pack ${resp[0]}: ${JSON.stringify(out)}`); return; }
      socket.write(out);
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
  // Bounded lifetime: the host never outlives a stuck or killed caller.
  setTimeout(() => { console.error('host: lifetime over'); process.exit(0); }, lifetimeMs);
  process.on('SIGTERM', () => process.exit(0));
};
