// A search result for an old message in the real window: bob (charla-cli) wrote a message and
// 150 more after it while the app was closed, so the app holds only the newest page; choosing
// the result opens the room at that message, paging back to it, with it in view and highlighted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { composer, eventually, headerText, newRoom, openApp, returningAna, screenshot, startCli, stopAll } from './harness.mjs';

let dirs;
let driver;
let serverPort;

before(async () => {
  ({ dirs, serverPort, driver } = await returningAna());
});

after(async () => {
  await stopAll();
});

const sidebarEntry = (app, room) => app.$(`nav[aria-label="Conversations"] [data-room="${room}"]`);

/** The message `seq` as the reader sees it: in the timeline's view (wholly), highlighted or not. */
const messageInView = (app, seq) =>
  app.execute((seq) => {
    const log = document.querySelector('[role="log"]');
    const m = log?.querySelector(`[data-testid="message"][data-seq="${seq}"]`);
    if (!m) return { shown: false, loaded: [...log.querySelectorAll('[data-testid="message"]')].map((e) => Number(e.dataset.seq)) };
    const box = log.getBoundingClientRect();
    const r = m.getBoundingClientRect();
    return { shown: r.top >= box.top - 1 && r.bottom <= box.bottom + 1, highlighted: m.dataset.highlighted === 'true', text: m.textContent };
  }, seq);

async function search(app, words) {
  await app.keys(['Control', 'f']);
  const query = await app.$('input[aria-label="Search messages"]');
  await query.waitForDisplayed({ timeout: 5000 });
  await query.setValue(words);
  await app.keys('Enter');
  const result = await app.$('[data-testid="search-result"]');
  await result.waitForDisplayed({ timeout: 10000 });
  return result;
}

test('a search result 150 messages back opens the room at it, paged back to, in view and highlighted', { timeout: 240_000 }, async () => {
  let app = await openApp(driver.port);
  try {
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    await newRoom(app, 'ops');
    await (await sidebarEntry(app, 'general')).click();
    await eventually(async () => (await headerText(app)).includes('general'), 'general open');
    await app.deleteSession();

    // While the app is closed: 60 older lines, the one to find, and 150 after it.
    const bob = await startCli(serverPort, 'bob', 'ops', dirs.base);
    const lines = [...Array.from({ length: 60 }, (_, i) => `earlier line ${i + 1}`), 'the quarterly numbers are in the blue folder', ...Array.from({ length: 150 }, (_, i) => `filler ${i + 1}`)];
    bob.say(lines);
    assert.equal(await bob.close(), 0, 'bob delivered every line');
    const target = 61;

    app = await openApp(driver.port);
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    await eventually(async () => (await (await sidebarEntry(app, 'ops')).getAttribute('data-unread')) === '211', 'ops: 211 unread');

    // Proves: choosing the result opens ops at the message, 150 back (not loaded: paged back
    // to), in view and highlighted; and it stays there.
    const result = await search(app, 'quarterly');
    assert.equal(await result.getAttribute('data-seq'), String(target));
    await result.click();
    await eventually(async () => (await headerText(app)).includes('ops'), 'ops opened');
    const seen = await eventually(async () => {
      const m = await messageInView(app, target);
      return m.shown && m.highlighted ? m : false;
    }, `message ${target} in view, highlighted`);
    assert.ok(seen.text.includes('the quarterly numbers'), 'the message found is the one asked for');
    await screenshot(app, 'jump-01-opened-at-old-message');
    await sleep(1500);
    assert.equal((await messageInView(app, target)).shown, true, 'still in view a moment later');
    assert.equal(await (await app.$('[data-testid="jump-notice"]')).isExisting(), false, 'no "too far back" notice');

    // Proves: from inside the room, a second old message (the first line) is reached the same way.
    const first = await search(app, 'earlier line 1');
    const firstSeq = Number(await first.getAttribute('data-seq'));
    await first.click();
    await eventually(async () => {
      const m = await messageInView(app, firstSeq);
      return m.shown && m.highlighted;
    }, `message ${firstSeq} in view, highlighted`);
    await screenshot(app, 'jump-02-first-line');
  } catch (e) {
    await screenshot(app, 'jump-failed').catch(() => undefined);
    throw e;
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
