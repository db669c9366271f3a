// Charla in the operating system, end to end: with the window hidden, a message from someone
// else raises a desktop notification (seen on D-Bus, shown by dunst) and counts as unread; a
// burst becomes one notification; mute silences them; a second launch shows the first window
// (which clears the unread count) and exits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { freePort } from '../interop/harness.mjs';
import { APP_BIN, ARTIFACTS, eventually, openApp, startDisplay, startDriver, startServer, stopAll, tempDirs, track } from './harness.mjs';

let display;
let dirs;
let driver;
let serverPort;
let bob;
let notifyLog = '';

const notifications = () => notifyLog.split('member=Notify').slice(1);

before(async () => {
  display = await startDisplay();
  dirs = tempDirs();
  serverPort = await freePort();
  await startServer(serverPort, dirs.db);
  // A returning user: straight to the chat.
  mkdirSync(dirs.config, { recursive: true });
  writeFileSync(join(dirs.config, 'config.json'), JSON.stringify({ username: 'ana', serverUrl: `ws://127.0.0.1:${serverPort}` }));
  track(spawn('dunst', [], { env: { ...process.env, DISPLAY: display }, stdio: ['ignore', 'ignore', 'pipe'] }), 'dunst');
  const monitor = track(spawn('dbus-monitor', ["interface='org.freedesktop.Notifications',member='Notify'"], { stdio: ['ignore', 'pipe', 'pipe'] }), 'dbus-monitor');
  monitor.stdout.on('data', (chunk) => { notifyLog += chunk; });
  driver = await startDriver({ DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, XDG_CONFIG_HOME: join(dirs.base, 'xdg'), WEBKIT_DISABLE_COMPOSITING_MODE: '1' });
});

after(async () => {
  bob?.close();
  await stopAll();
});

const unread = (app) => app.execute(() => window.__TAURI_INTERNALS__.invoke('unread_count'));

function screenshotRoot(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return new Promise((done) => {
    const shot = spawn('import', ['-window', 'root', join(ARTIFACTS, `${name}.png`)], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' });
    shot.once('exit', done);
    shot.once('error', done);
  });
}

test('hidden window: notification, unread count, coalescing, mute, second launch', async () => {
  const app = await openApp(driver.port);
  try {
    await (await app.$('textarea[aria-label="Message"]')).waitForDisplayed({ timeout: 20000 });
    bob = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'] });
    bob.on('connect', () => bob.emit('join', 'bob'));
    await eventually(async () => (await (await app.$('aside')).getText()).includes('bob'), 'bob online');

    // The UI's Hide button calls this command; a WebDriver click would wait for the (now
    // hidden) window to repaint, so the command is called directly, without waiting on it.
    await app.execute(() => {
      void window.__TAURI_INTERNALS__.invoke('hide_window');
    });
    await sleep(500);
    bob.emit('chat-message', { username: 'bob', text: 'are you there, ana?' });
    await eventually(() => notifications().some((n) => n.includes('"bob"') && n.includes('are you there, ana?')), 'a notification from bob');
    await eventually(async () => (await unread(app)) === 1, 'one unread');
    await screenshotRoot('tray-01-notification');

    const before = notifications().length;
    for (let i = 1; i <= 5; i += 1) bob.emit('chat-message', { username: 'bob', text: `burst ${i}` });
    await eventually(async () => (await unread(app)) === 6, 'six unread');
    await eventually(() => notifications().length > before, 'the burst notification');
    await sleep(2500); // anything else would have come by now
    const burst = notifications().slice(before);
    assert.equal(burst.length, 1, 'one notification for the burst');
    assert.match(burst[0], /5 new messages from bob/);

    await app.execute(() =>
      window.__TAURI_INTERNALS__.invoke('save_preferences', {
        preferences: { notifications: false, mentionsOnly: false, closeToTray: true, startOnLogin: false },
      }),
    );
    const muted = notifications().length;
    bob.emit('chat-message', { username: 'bob', text: 'nobody hears this' });
    await eventually(async () => (await unread(app)) === 7, 'still counted while muted');
    await sleep(2500);
    assert.equal(notifications().length, muted, 'muted: no notification');
    assert.ok(!notifyLog.includes('<'), 'no markup in any notification');

    // A second launch hands over to this one: it shows the window (all read) and exits.
    const second = spawn(APP_BIN, [], {
      env: { ...process.env, DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, XDG_CONFIG_HOME: join(dirs.base, 'xdg') },
      stdio: 'ignore',
    });
    const code = await Promise.race([new Promise((done) => second.once('exit', done)), sleep(15000).then(() => 'still running')]);
    if (code === 'still running') second.kill('SIGKILL');
    assert.equal(code, 0, 'the second instance exits');
    await eventually(async () => (await unread(app)) === 0, 'shown again: unread cleared');
    await screenshotRoot('tray-02-shown-again');
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
