// The dark theme follows the system (here GTK's: Adwaita's dark variant) and keeps its contrast:
// the real window reports `prefers-color-scheme: dark`, and axe-core finds no serious or
// critical violation on the chat, a dialog and the search. (The light theme is checked the same
// way in conversations.test.mjs.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, openApp, returningAna, screenshot, seriousViolations, stopAll } from './harness.mjs';

let driver;

before(async () => {
  ({ driver } = await returningAna({ GTK_THEME: 'Adwaita:dark' }));
});

after(stopAll);

test('the dark theme: followed from the system, readable', { timeout: 120_000 }, async () => {
  const app = await openApp(driver.port);
  try {
    await (await app.$('textarea[aria-label="Message"]')).waitForDisplayed({ timeout: 20000 });
    assert.equal(await app.execute(() => window.matchMedia('(prefers-color-scheme: dark)').matches), true, 'the webview sees the dark preference');
    const background = await app.execute(() => getComputedStyle(document.documentElement).backgroundColor);
    assert.notEqual(background, 'rgb(246, 247, 251)', 'the dark colours, not the light ones');
    await eventually(async () => (await app.$('nav[aria-label="Conversations"] [data-room="general"]')).isExisting(), 'the sidebar');
    assert.deepEqual(await seriousViolations(app), [], 'axe on the chat');
    await screenshot(app, 'theme-dark-chat');
    await (await app.$('button=New room')).click();
    await (await app.$('[role="dialog"]')).waitForDisplayed({ timeout: 5000 });
    assert.deepEqual(await seriousViolations(app), [], 'axe on a dialog');
    await screenshot(app, 'theme-dark-dialog');
    await app.keys('Escape');
    await app.keys(['Control', 'k']);
    await (await app.$('[role="dialog"]')).waitForDisplayed({ timeout: 5000 });
    assert.deepEqual(await seriousViolations(app), [], 'axe on the switcher');
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
