// Charla in the operating system, end to end: with the window hidden, a message from someone
// else raises a desktop notification (seen on D-Bus, shown by dunst) and counts as unread; a
// burst becomes one notification; a second launch shows the first window (all read) and exits;
// muted, nothing is notified but messages still count.
//
// While the window is hidden the test makes no WebDriver calls (a hidden WebKit page may not
// answer them promptly): the unread count is read from the app's log, the line the tray is
// updated with.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { APP_BIN, eventually, openApp, screenshotRoot, returningAna, stopAll } from './harness.mjs';

let display;
let dirs;
let driver;
let serverPort;
let bob;
let notifier;

const notifications = () => notifier.shown();
const appEnv = () => ({ ...process.env, DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, XDG_CONFIG_HOME: join(dirs.base, 'xdg') });

/** The app's unread count, as last logged (the value the tray shows). */
function unread() {
  const counts = [...driver.log().matchAll(/unread count unread=(\d+)/g)];
  return counts.length === 0 ? 0 : Number(counts.at(-1)[1]);
}

before(async () => {
  ({ display, dirs, serverPort, notifier, driver } = await returningAna());
});

after(async () => {
  bob?.close();
  await stopAll();
});


/** Hides the window the way the Hide button does, without waiting on the hidden page. */
async function hide(app) {
  await app.execute(() => {
    void window.__TAURI_INTERNALS__.invoke('hide_window');
  });
  await sleep(500);
}

/** A second launch: it must hand over to the running app (which shows its window) and exit. */
async function secondLaunch() {
  const second = spawn(APP_BIN, [], { env: appEnv(), stdio: 'ignore' });
  const code = await Promise.race([new Promise((done) => second.once('exit', done)), sleep(15000).then(() => 'still running')]);
  if (code === 'still running') second.kill('SIGKILL');
  assert.equal(code, 0, 'the second instance exits');
}

test('hidden window: notification, unread count, coalescing, second launch, mute', { timeout: 240_000 }, async () => {
  const app = await openApp(driver.port);
  try {
    await (await app.$('textarea[aria-label="Message"]')).waitForDisplayed({ timeout: 20000 });
    bob = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'] });
    bob.on('connect', () => bob.emit('join', 'bob'));
    await eventually(async () => (await (await app.$('aside')).getText()).includes('bob'), 'bob online');

    await hide(app);
    bob.emit('chat-message', { username: 'bob', text: 'are you there, ana?' });
    await eventually(() => notifications().some((n) => n.includes('"bob"') && n.includes('are you there, ana?')), 'a notification from bob');
    await eventually(() => unread() === 1, 'one unread');
    await screenshotRoot(display, 'tray-01-notification');

    const before = notifications().length;
    for (let i = 1; i <= 5; i += 1) bob.emit('chat-message', { username: 'bob', text: `burst ${i}` });
    await eventually(() => unread() === 6, 'six unread');
    await eventually(() => notifications().length > before, 'the burst notification');
    await sleep(2500); // anything else would have come by now
    const burst = notifications().slice(before);
    assert.equal(burst.length, 1, 'one notification for the burst');
    assert.match(burst[0], /5 new messages from bob/);

    await secondLaunch();
    await eventually(() => unread() === 0, 'shown again: unread cleared');
    await (await app.$('textarea[aria-label="Message"]')).waitForDisplayed({ timeout: 10000 });
    await screenshotRoot(display, 'tray-02-shown-again');

    // Muted (the tray's check item and the settings save the same preference).
    await app.execute(() =>
      window.__TAURI_INTERNALS__.invoke('save_preferences', {
        preferences: { notifications: false, mentionsOnly: false, closeToTray: true, startOnLogin: false },
      }),
    );
    await hide(app);
    const muted = notifications().length;
    bob.emit('chat-message', { username: 'bob', text: 'nobody hears this' });
    await eventually(() => unread() === 1, 'still counted while muted');
    await sleep(2500);
    assert.equal(notifications().length, muted, 'muted: no notification');
    assert.ok(!notifier.log().includes('<'), 'no markup in any notification');

    await secondLaunch(); // visible again for a clean end
    await eventually(() => unread() === 0, 'shown again');
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
