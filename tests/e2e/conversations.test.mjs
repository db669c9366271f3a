// Conversations in the real window: a room made in the app, a second client (socket.io-client,
// owning its name) joins and writes, the sidebar's badge and the tray's count follow, a DM is
// opened from the people list, a mention raises a notification that dunst clicks and the app
// opens at that room, search finds an old message and jumps to it, scrolling to the top loads
// older messages, and after a restart each room's draft is back. axe-core runs inside the
// webview on each main screen: no serious or critical violation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { eventually, openApp, screenshot, screenshotRoot, returningAna, seriousViolations, stopAll } from './harness.mjs';

let display;
let dirs;
let driver;
let serverPort;
let notifier;
const peers = [];

before(async () => {
  ({ display, dirs, serverPort, notifier, driver } = await returningAna());
});

after(async () => {
  for (const peer of peers) peer.close();
  await stopAll();
});

/** A Socket.IO client that owns `name` (its device key in the join), joined. */
async function peer(name, keyChar) {
  const socket = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'] });
  peers.push(socket);
  const got = [];
  socket.on('message', (m) => got.push(m));
  await new Promise((done) => socket.once('connect', done));
  const joined = await socket.emitWithAck('join', name, { key: keyChar.repeat(64) });
  assert.equal(joined.owned, true, `${name} owns its name`);
  return { socket, got, say: (room, text) => socket.emitWithAck('chat-message', room ? { room, text } : { text }) };
}

/** The app's unread totals as last logged (what the tray shows). */
function totals() {
  const lines = [...driver.log().matchAll(/unread count unread=(\d+) mentions=(\d+)/g)];
  const last = lines.at(-1);
  return last ? { unread: Number(last[1]), mentions: Number(last[2]) } : { unread: 0, mentions: 0 };
}


function dunstctl(...args) {
  return new Promise((done, fail) => {
    const child = spawn('dunstctl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(`dunstctl ${args.join(' ')} exited ${code}`))));
    child.once('error', fail);
  });
}

async function axe(app, screen) {
  assert.deepEqual(await seriousViolations(app), [], `axe on ${screen}`);
}

const composer = (app) => app.$('textarea[aria-label="Message"]');
const sidebarEntry = (app, room) => app.$(`nav[aria-label="Conversations"] [data-room="${room}"]`);
/** The open conversation's header, as text (title, topic, members). */
const headerText = (app) => app.execute(() => document.querySelector('[data-testid="room-header"]')?.textContent ?? '');
const shownSeqs = async (app) => {
  const seqs = [];
  for (const m of await app.$$('[data-testid="message"]')) seqs.push(Number(await m.getAttribute('data-seq')));
  return seqs;
};

async function open(app, room) {
  await (await sidebarEntry(app, room)).click();
  await eventually(async () => (await headerText(app)).includes(room === 'general' ? 'general' : room), `${room} open`);
}

async function hide(app) {
  await app.execute(() => {
    void window.__TAURI_INTERNALS__.invoke('hide_window');
  });
  await sleep(500);
}

test('rooms, DMs, unread, a clicked notification, search, scrollback and drafts', { timeout: 420_000 }, async () => {
  let app = await openApp(driver.port);
  let bob;
  try {
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    await eventually(async () => (await sidebarEntry(app, 'general')).isExisting(), 'the sidebar');
    await axe(app, 'the chat');

    // A room made in the app.
    await (await app.$('button=New room')).click();
    await (await app.$('[role="dialog"]')).waitForDisplayed({ timeout: 5000 });
    await axe(app, 'the new room dialog');
    await (await app.$('//div[@role="dialog"]//label[contains(., "Name")]//input')).setValue('ops');
    await (await app.$('//div[@role="dialog"]//label[contains(., "Topic")]//input')).setValue('deployments and incidents');
    await screenshot(app, 'conv-01-new-room');
    await (await app.$('//div[@role="dialog"]//button[normalize-space(.)="Create"]')).click();
    await eventually(async () => (await headerText(app)).includes('deployments and incidents'), 'ops open with its topic');

    // Bob joins it and writes while ana looks at general: the badge and the tray count.
    bob = await peer('bob', 'b');
    const entered = await bob.socket.emitWithAck('room-join', { room: 'ops' });
    assert.equal(entered.ok, true);
    await open(app, 'general');
    await bob.say('ops', 'the quarterly numbers are in the blue folder');
    for (let i = 1; i <= 120; i += 1) await bob.say('ops', `filler ${i}`);
    await eventually(async () => (await (await sidebarEntry(app, 'ops')).getAttribute('data-unread')) === '121', 'ops: 121 unread in the sidebar');
    await eventually(() => totals().unread === 121, 'the tray counts 121');
    await screenshot(app, 'conv-02-unread-badge');

    // Opening it reads it: the marker goes to the server and the counts clear.
    await open(app, 'ops');
    await eventually(async () => (await (await sidebarEntry(app, 'ops')).getAttribute('data-unread')) === '0', 'ops read');
    await eventually(() => totals().unread === 0, 'the tray cleared');
    const marker = await bob.socket.emitWithAck('rooms');
    assert.ok(marker.ok);

    // A DM from the people list.
    await (await app.$('aside [aria-label="Message bob"]')).click();
    await eventually(async () => (await headerText(app)).includes('bob'), 'the DM with bob open');
    await (await composer(app)).setValue('psst, lunch?');
    await app.keys('Enter');
    await eventually(() => bob.got.find((m) => m.text === 'psst, lunch?' && String(m.room).startsWith('dm:')), 'bob gets the DM');
    await screenshot(app, 'conv-03-dm');

    // A mention while the window is hidden: a notification; clicking it opens ops.
    await open(app, 'general');
    await hide(app);
    const before = notifier.shown().length;
    assert.equal(before, 0, 'nothing was announced while the window was in front');
    await bob.say('ops', '@ana can you look at the deploy?');
    await eventually(() => notifier.shown().length > before && notifier.log().includes('bob in #ops'), 'a notification for the mention');
    assert.equal(notifier.shown().length, before + 1, 'one notification');
    await eventually(() => totals().mentions === 1, 'the tray counts the mention');
    await screenshotRoot(display, 'conv-04-notification');
    await sleep(300);
    await dunstctl('action', '0');
    await eventually(() => driver.log().includes('notification clicked'), 'the click reached the app');
    await eventually(async () => (await headerText(app)).includes('ops'), 'the app opened at ops');
    const mention = await app.$('[data-testid="message"][data-mention="true"]');
    await eventually(() => mention.isDisplayed(), 'the mention highlighted');
    await screenshot(app, 'conv-05-opened-from-notification');

    // Drafts, one per room, then a restart.
    await open(app, 'ops');
    await (await composer(app)).setValue('ops draft, half done');
    await open(app, 'general');
    await (await composer(app)).setValue('general draft');
    await sleep(800); // saved after 300 ms of quiet
    await app.deleteSession();
    app = await openApp(driver.port);
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    await eventually(async () => (await sidebarEntry(app, 'ops')).isExisting(), 'ops listed after the restart');
    await open(app, 'general');
    await eventually(async () => (await (await composer(app)).getValue()) === 'general draft', "general's draft back");
    await open(app, 'ops');
    await eventually(async () => (await (await composer(app)).getValue()) === 'ops draft, half done', "ops's draft back");

    // Scrolling to the top loads older messages: the reader's keys (Home) in the timeline. (A
    // scroll written by a script is not the reader's: the list would stay at the newest.)
    await eventually(async () => (await shownSeqs(app)).length > 0, 'ops shows its newest messages');
    const oldestBefore = Math.min(...(await shownSeqs(app)));
    await app.execute(() => document.querySelector('[role="log"]')?.focus());
    for (let i = 0; i < 20 && Math.min(...(await shownSeqs(app))) >= oldestBefore; i += 1) {
      await app.keys(['Home']);
      await sleep(300);
    }
    const oldestAfter = Math.min(...(await shownSeqs(app)));
    assert.ok(oldestAfter < oldestBefore, `older messages loaded (${oldestBefore} → ${oldestAfter})`);
    await screenshot(app, 'conv-08-scrollback');

    // Search finds the oldest message (not loaded: the window pages back to it) and jumps to it.
    await app.keys(['Control', 'f']);
    const query = await app.$('input[aria-label="Search messages"]');
    await query.waitForDisplayed({ timeout: 5000 });
    await axe(app, 'search');
    await query.setValue('quarterly');
    await app.keys('Enter');
    const result = await app.$('[data-testid="search-result"]');
    await result.waitForDisplayed({ timeout: 10000 });
    assert.equal(await result.getAttribute('data-room'), 'ops');
    await screenshot(app, 'conv-06-search');
    assert.ok(!(await shownSeqs(app)).includes(1), 'not loaded before the jump');
    await result.click();
    await eventually(async () => (await app.$('[data-testid="message"][data-seq="1"][data-highlighted="true"]')).isDisplayed(), 'message 1 shown, highlighted');
    await screenshot(app, 'conv-07-jumped');
  } catch (e) {
    await screenshot(app, 'conv-failed').catch(() => undefined);
    console.error(driver.log().split('\n').filter((l) => /WARN|ERROR|refused|notification/.test(l)).slice(-30).join('\n'));
    throw e;
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
