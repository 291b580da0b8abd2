// Start the telegram-test-api Bot API emulator for the tests and print one ready line.
// Usage: node launch_emulator.js <path to node_modules/telegram-test-api> <port>
'use strict';

const [modulePath, portText] = process.argv.slice(2);
const port = Number(portText);

// A malformed client request makes the emulator reject a promise nobody awaits; without this
// handler Node would exit and every later test would see "connection refused" instead.
process.on('unhandledRejection', (reason) => {
  console.error(`emulator: unhandled rejection: ${reason && reason.message ? reason.message : reason}`);
});

const TelegramServer = require(modulePath);
// storeTimeout: keep unread messages for the whole test session (default is 60 s).
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 3600 });

function stop() {
  server.stop().then(() => process.exit(0), () => process.exit(1));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

server.start().then(
  () => console.log(`EMULATOR READY ${server.config.apiURL}`),
  (error) => { console.error(`emulator: cannot start: ${error.message}`); process.exit(1); },
);
