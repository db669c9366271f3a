// The timeline in the real window, with other people as charla-cli processes: the list follows
// the newest message through bursts (35 lines from one person, 35 each from two at once) in a
// room just made, stays where the reader scrolled (with their keys) while more come, and the
// reader's own message brings it back to the newest. Names in the people panel, the sidebar, the
// header and on messages stay on one line: whole, or cut with an ellipsis and whole in the title.
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

/** Where the timeline's view is: px left below it, the seqs of the messages in view, the jump button. */
const viewOf = (app) =>
  app.execute(() => {
    const log = document.querySelector('[role="log"]');
    const box = log.getBoundingClientRect();
    const inView = [...log.querySelectorAll('[data-testid="message"]')]
      .filter((m) => {
        const r = m.getBoundingClientRect();
        return r.bottom > box.top + 1 && r.top < box.bottom - 1;
      })
      .map((m) => ({ seq: Number(m.dataset.seq), text: m.textContent }));
    return { below: Math.round(log.scrollHeight - log.scrollTop - log.clientHeight), top: Math.round(log.scrollTop), inView, jump: document.querySelector('.jump')?.textContent ?? null };
  });

/** The view is at the newest message, `seq`, and stays there (a second later too). */
async function followed(app, seq, what) {
  const atNewest = async () => {
    const v = await viewOf(app);
    return v.below <= 2 && v.jump === null && v.inView.some((m) => m.seq === seq) ? v : false;
  };
  await eventually(atNewest, `${what}: the view at message ${seq}`, 20000);
  await sleep(1000);
  const later = await atNewest();
  assert.ok(later, `${what}: still at message ${seq} a second later (${JSON.stringify(await viewOf(app))})`);
}

const burst = (who, label) => Array.from({ length: 35 }, (_, i) => `${who}: ${label}, line ${i + 1} of 35`);

test('the list follows the newest message through bursts; the reader scrolling up stops it; their own message brings it back', { timeout: 300_000 }, async () => {
  const app = await openApp(driver.port);
  try {
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    // A room just made in the app; the reader never scrolls in it.
    await newRoom(app, 'ops');
    const bob = await startCli(serverPort, 'bob694069', 'ops', dirs.base);
    const carol = await startCli(serverPort, 'carol', 'ops', dirs.base);
    await eventually(async () => (await headerText(app)).includes('3 members'), 'bob and carol in ops');

    // Proves: a burst of 35 lines from another person is followed to its last line.
    bob.say(burst('bob', 'first burst'));
    await followed(app, 35, 'one burst of 35');
    await screenshot(app, 'timeline-01-followed-burst');

    // Proves: two people writing 35 lines each at once are followed too.
    bob.say(burst('bob', 'second burst'));
    carol.say(burst('carol', 'at once'));
    await followed(app, 105, 'two bursts at once');

    // Proves: another burst, after those, is still followed (following was not lost).
    bob.say(burst('bob', 'third burst'));
    await followed(app, 140, 'a third burst');
    await screenshot(app, 'timeline-02-followed-two-at-once');

    // Proves: the reader's scroll up (keys, in the focused timeline) stops following: the view
    // stays where they put it while 35 more come, and the button counts them.
    await app.execute(() => document.querySelector('[role="log"]').focus());
    await app.keys(['PageUp']);
    await app.keys(['PageUp']);
    const up = await eventually(async () => {
      const v = await viewOf(app);
      return v.below > 300 ? v : false;
    }, 'the view scrolled up by the reader');
    await sleep(500);
    const placed = await viewOf(app);
    bob.say(burst('bob', 'while reading'));
    await eventually(async () => (await viewOf(app)).jump === '35 new messages ↓', 'the button counts 35 new messages');
    const after35 = await viewOf(app);
    assert.ok(Math.abs(after35.top - placed.top) <= 2, `the view stayed where the reader put it (${placed.top} → ${after35.top}, from ${up.top})`);
    assert.ok(!after35.inView.some((m) => m.seq === 175), 'the newest is not in view');
    await screenshot(app, 'timeline-03-scrolled-up');

    // Proves: the reader's own message brings the view to the newest, their message.
    await (await composer(app)).setValue('back to the newest');
    await app.keys('Enter');
    await followed(app, 176, 'my own message');
    const mine = (await viewOf(app)).inView.find((m) => m.seq === 176);
    assert.ok(mine?.text.includes('back to the newest'), 'my message is the newest, in view');
    await screenshot(app, 'timeline-04-own-message');

    await Promise.all([bob.close(), carol.close()]);
  } catch (e) {
    await screenshot(app, 'timeline-failed').catch(() => undefined);
    console.error(JSON.stringify(await viewOf(app).catch(() => null)));
    throw e;
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});

/** How each place shows `name`: the innermost element holding exactly it, its lines, whether it
 * shows whole, its text-overflow and title. */
const nameBoxes = (app, name) =>
  app.execute((name) => {
    const places = { people: 'aside.people li', sidebar: 'nav', header: '#room-title', author: '[data-testid="message"] header' };
    const out = {};
    for (const [place, selector] of Object.entries(places)) {
      const el = [...document.querySelectorAll(`${selector}, ${selector} *`)].filter((e) => e.textContent === name).pop();
      if (!el) {
        out[place] = null;
        continue;
      }
      const style = getComputedStyle(el);
      out[place] = {
        oneLine: el.getBoundingClientRect().height < 2 * parseFloat(style.fontSize),
        whole: el.scrollWidth <= el.clientWidth + 1,
        ellipsis: style.textOverflow === 'ellipsis',
        title: el.getAttribute('title'),
      };
    }
    return out;
  }, name);

test('names stay on one line: whole, or ending with an ellipsis and whole in their title', { timeout: 120_000 }, async () => {
  const long = 'bartholomew_the_third_of_many';
  const app = await openApp(driver.port);
  try {
    await (await composer(app)).waitForDisplayed({ timeout: 20000 });
    await eventually(async () => (await headerText(app)).includes('ops'), 'ops open again');
    const bart = await startCli(serverPort, long, 'ops', dirs.base);
    bart.say(['hello from a long name']);
    await eventually(async () => (await nameBoxes(app, long)).author, 'the long name on its message');

    // Proves: a 9-character name in the people panel is whole, on one line (it was broken
    // mid-word, "bob6940 / 69").
    const short = await nameBoxes(app, 'bob694069');
    assert.deepEqual({ oneLine: short.people?.oneLine, whole: short.people?.whole }, { oneLine: true, whole: true }, JSON.stringify(short.people));
    // Proves: a name too long for the people panel ends with an ellipsis, whole in its title.
    let boxes = await nameBoxes(app, long);
    assert.deepEqual(boxes.people, { oneLine: true, whole: false, ellipsis: true, title: long });
    assert.ok(boxes.author?.oneLine && (boxes.author.whole || (boxes.author.ellipsis && boxes.author.title === long)), `message author: ${JSON.stringify(boxes.author)}`);

    // Proves: in the sidebar and the header (a DM with them) too.
    await (await app.$(`aside [aria-label="Message ${long}"]`)).click();
    await eventually(async () => (await headerText(app)).includes(long), 'the DM open');
    boxes = await nameBoxes(app, long);
    for (const place of ['people', 'sidebar', 'header']) {
      const box = boxes[place];
      assert.ok(box?.oneLine && (box.whole || (box.ellipsis && box.title === long)), `${place}: ${JSON.stringify(box)}`);
    }
    assert.equal(boxes.sidebar.whole, false, 'the sidebar cuts it (it is too long there)');
    await screenshot(app, 'timeline-05-long-names');
    await bart.close();
  } catch (e) {
    await screenshot(app, 'timeline-names-failed').catch(() => undefined);
    throw e;
  } finally {
    await app.deleteSession().catch((e) => console.error(`closing the session: ${e.message}`));
  }
});
