// Living messages in the real window: ana edits one of her messages, deletes another and
// reacts to bob's with an emoji chosen in the picker (searched for); bob, a second Socket.IO
// client in general, receives each change as `message-updated`; the window shows "(edited)",
// "message deleted" and the reaction, and axe finds nothing serious.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';
import { composer, eventually, openApp, returningAna, screenshot, seriousViolations, stopAll } from './harness.mjs';

let serverPort;
let driver;
let bob;

before(async () => {
  ({ serverPort, driver } = await returningAna());
});

after(async () => {
  bob?.close();
  await stopAll();
});

/** The message whose text includes `text`, in the timeline. */
const messageWith = (app, text) => app.$(`//article[@data-testid="message"][contains(., "${text}")]`);

/**
 * Clicks a button of a message's toolbar (shown on hover). A message just sent is first shown
 * from the outbox, without a toolbar, until the server's copy (with its `seq`) replaces it.
 */
async function toolbar(app, text, name) {
  const button = await eventually(async () => {
    const m = await messageWith(app, text);
    if (!(await m.isExisting())) return null;
    await m.moveTo();
    const b = await m.$(`.//div[@role="toolbar"]//button[normalize-space(.)="${name}"]`);
    return (await b.isClickable()) ? b : null;
  }, `the ${name} button of "${text}"`);
  await button.click();
}

test('edit, delete and react in the window; another client sees each change', { timeout: 180_000 }, async () => {
  const updates = [];
  bob = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'] });
  bob.on('connect', () => bob.emit('join', 'bob'));
  bob.on('message-updated', (m) => updates.push(m));
  const said = [];
  bob.on('message', (m) => said.push(m));

  const app = await openApp(driver.port);
  try {
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    for (const text of ['teh plan', 'a message to take back']) {
      await (await composer(app)).setValue(text);
      await app.keys('Enter');
      await eventually(() => said.find((m) => m.text === text && m.username === 'ana'), `bob receives "${text}"`);
    }
    bob.emit('chat-message', { username: 'bob', text: 'lunch at noon?' });
    await eventually(async () => (await messageWith(app, 'lunch at noon?')).isExisting(), "bob's message shows");

    // Edit in place: Enter saves.
    await toolbar(app, 'teh plan', 'Edit');
    const box = await app.$('textarea[aria-label="Edit message"]');
    await box.waitForDisplayed({ timeout: 5000 });
    await box.clearValue();
    await box.setValue('the plan');
    await app.keys('Enter');
    const edited = await eventually(() => updates.find((m) => m.text === 'the plan' && m.editedAt), 'bob sees the edit');
    assert.equal(edited.username, 'ana');
    await eventually(async () => (await (await messageWith(app, 'the plan')).getText()).includes('(edited)'), '"(edited)" shows');

    // Delete, confirmed.
    await toolbar(app, 'a message to take back', 'Delete');
    await (await app.$('//div[@role="dialog"]//button[normalize-space(.)="Delete"]')).click();
    await eventually(() => updates.find((m) => m.deleted === true && m.username === 'ana'), 'bob sees the deletion');
    await eventually(async () => (await messageWith(app, 'message deleted')).isExisting(), '"message deleted" shows');
    assert.equal(await (await messageWith(app, 'a message to take back')).isExisting(), false);

    // React through the picker: searched, then chosen.
    await toolbar(app, 'lunch at noon?', 'React');
    const search = await app.$('input[aria-label="Search emoji"]');
    await search.waitForDisplayed({ timeout: 10000 });
    await search.setValue('party popper');
    const party = await app.$('//div[@role="dialog"]//button[@aria-label="Party popper"]');
    await party.waitForDisplayed({ timeout: 10000 });
    await screenshot(app, 'living-01-picker');
    assert.deepEqual(await seriousViolations(app), [], 'axe on the picker');
    await party.click();
    await eventually(
      () => updates.find((m) => m.text === 'lunch at noon?' && m.reactions?.some((r) => r.emoji === '🎉' && r.names.includes('ana'))),
      'bob sees the reaction',
    );
    const reaction = await app.$('button[aria-label="🎉 1: ana"]');
    await reaction.waitForDisplayed({ timeout: 10000 });
    assert.equal(await reaction.getAttribute('aria-pressed'), 'true');
    // The pointer and the focus leave the message (its toolbar and the reaction's names hide).
    await (await composer(app)).click();
    await screenshot(app, 'living-02-changes');
    assert.deepEqual(await seriousViolations(app), [], 'axe on edited, deleted and reacted messages');
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
