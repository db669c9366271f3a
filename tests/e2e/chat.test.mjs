// The desktop app end to end, in a real window: first run, chat with a second client, a code
// block sent (as typed) and shown highlighted, the server killed (banner), a message sent
// offline (pending), the server back (delivered exactly once, banner gone), and the app
// restarted with its unsent draft restored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';
import { freePort } from '../interop/harness.mjs';
import { eventually, openApp, screenshot, seriousViolations, startDisplay, startDriver, startServer, stopAll, tempDirs } from './harness.mjs';

let display;
let dirs;
let driver;
let server;
let serverPort;
let bob;

before(async () => {
  display = await startDisplay();
  dirs = tempDirs();
  serverPort = await freePort();
  server = await startServer(serverPort, dirs.db);
  driver = await startDriver({ DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, WEBKIT_DISABLE_COMPOSITING_MODE: '1' });
});

after(async () => {
  bob?.close();
  await stopAll();
});

const composer = (b) => b.$('textarea[aria-label="Message"]');
const messages = (b) => b.$$('[data-testid="message"]');
async function texts(b) {
  const out = [];
  for (const m of await messages(b)) out.push(await m.getText());
  return out;
}

test('first run, chat, server loss, offline send, recovery, restart with draft', { timeout: 240_000 }, async () => {
  let app = await openApp(driver.port);
  try {
    // First run: pick a username, point at our server.
    const username = await app.$('//label[contains(., "Username")]/input');
    await username.waitForDisplayed({ timeout: 20000 });
    await screenshot(app, '01-first-run');
    await username.setValue('ana');
    const serverInput = await app.$('//label[contains(., "Server")]/input');
    await serverInput.clearValue();
    await serverInput.setValue(`ws://127.0.0.1:${serverPort}`);
    await (await app.$('button=Start chatting')).click();
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    await eventually(async () => (await (await app.$('aside')).getText()).includes('ana'), 'ana online');

    // A second client, the tutorial's way (socket.io-client), chats with the app.
    const received = [];
    bob = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 500 });
    bob.on('connect', () => bob.emit('join', 'bob'));
    bob.on('message', (m) => received.push(m));
    await eventually(async () => (await (await app.$('aside')).getText()).includes('bob'), 'bob online in the app');

    await (await composer(app)).setValue('hola from the app');
    await app.keys('Enter');
    await eventually(() => received.find((m) => m.text === 'hola from the app' && m.username === 'ana'), 'bob receives the app message');
    bob.emit('chat-message', { username: 'bob', text: 'hi ana, bob here' });
    await eventually(async () => (await texts(app)).some((t) => t.includes('hi ana, bob here')), 'the reply shows');
    await screenshot(app, '02-chatting');

    // A fenced code block, typed line by line (Shift+Enter): the server gets the text as typed,
    // the timeline shows it as code, its language named and highlighted.
    const fence = ['```rust', 'fn main() {', '    println!("hi");', '}', '```'];
    for (const [i, line] of fence.entries()) {
      await (await composer(app)).addValue(line);
      if (i < fence.length - 1) await app.keys(['Shift', 'Enter']);
    }
    await app.keys('Enter');
    await eventually(() => received.find((m) => m.text === fence.join('\n') && m.username === 'ana'), 'bob receives the code block as typed');
    const block = '[data-testid="message"] .code-block';
    await eventually(async () => (await (await app.$(`${block} pre code`)).getText()).includes('println!("hi");'), 'the code block shows');
    assert.equal(await (await app.$(`${block} .code-language`)).getText(), 'rust');
    await eventually(async () => (await (await app.$(`${block} pre code .hljs-keyword`)).getText()) === 'fn', 'the code highlighted');
    assert.deepEqual(await seriousViolations(app), [], 'axe on a code block');
    await screenshot(app, '02-code-block');

    // The server dies: the banner says so.
    await server.kill();
    const banner = await app.$('[role="status"]');
    await eventually(async () => /Reconnecting/.test(await banner.getText()), 'reconnecting banner');
    await screenshot(app, '03-server-down');

    // A message written offline is kept as pending.
    await (await composer(app)).setValue('sent while offline');
    await app.keys('Enter');
    const unsent = await app.$('[data-testid="unsent"]');
    await eventually(async () => (await unsent.getAttribute('data-state')) === 'pending', 'pending message');
    await screenshot(app, '04-offline-pending');

    // The server is back: delivered exactly once, banner gone.
    server = await startServer(serverPort, dirs.db);
    await eventually(async () => !(await (await app.$('[data-testid="unsent"]')).isExisting()), 'outbox drained', 30000);
    await eventually(async () => !(await (await app.$('[role="status"]')).isExisting()), 'banner cleared', 30000);
    const shown = (await texts(app)).filter((t) => t.includes('sent while offline'));
    assert.equal(shown.length, 1, 'shown once in the app');
    const observer = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'] });
    const joined = await observer.emitWithAck('join', 'observer');
    observer.close();
    assert.equal(joined.history.filter((m) => m.text === 'sent while offline').length, 1, 'stored once on the server');
    await screenshot(app, '05-recovered');

    // A draft survives a restart of the app.
    await (await composer(app)).setValue('an unsent draft');
    await new Promise((r) => setTimeout(r, 1000)); // the draft is saved 300 ms after typing stops
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }

  app = await openApp(driver.port);
  try {
    const box = await composer(app);
    await box.waitForDisplayed({ timeout: 20000 });
    assert.equal(await box.getValue(), 'an unsent draft');
    await eventually(async () => (await texts(app)).some((t) => t.includes('sent while offline')), 'history after restart');
    await screenshot(app, '06-restarted-with-draft');
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
