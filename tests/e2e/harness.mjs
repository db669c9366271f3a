// End-to-end support: a virtual display, a real charla-server process, tauri-driver driving
// the real desktop binary through WebKitWebDriver, and screenshots under artifacts/e2e/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { remote } from 'webdriverio';
import { freePort } from '../interop/harness.mjs';

export const ROOT = resolve(import.meta.dirname, '../..');
export const APP_BIN = process.env.CHARLA_APP_BIN ?? join(ROOT, 'target/debug/charla');
export const SERVER_BIN = process.env.CHARLA_SERVER_BIN ?? join(ROOT, 'target/debug/charla-server');
export const CLI_BIN = process.env.CHARLA_CLI_BIN ?? join(ROOT, 'target/debug/charla-cli');
export const ARTIFACTS = join(ROOT, 'artifacts/e2e');

const children = new Set();
export function track(child, name) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stderr?.on('data', (chunk) => {
    if (process.env.E2E_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
  });
  return child;
}
/** Stops every process this harness started (Xvfb, servers, tauri-driver and its
 * WebKitWebDriver, which it stops on SIGTERM). */
export async function stopAll() {
  for (const child of children) child.kill('SIGTERM');
  await sleep(500);
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function waitForPort(port, ms = 15000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const open = await new Promise((done) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => { socket.end(); done(true); });
      socket.once('error', () => done(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`nothing listened on ${port} within ${ms} ms`);
}

/** Xvfb on a free display (or the one in $DISPLAY when E2E_DISPLAY=inherit). */
export async function startDisplay() {
  if (process.env.E2E_DISPLAY === 'inherit' && process.env.DISPLAY) return process.env.DISPLAY;
  for (let n = 90; n < 120; n += 1) {
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const display = `:${n}`;
    const xvfb = track(spawn('Xvfb', [display, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] }), 'xvfb');
    for (let i = 0; i < 50; i += 1) {
      if (existsSync(`/tmp/.X11-unix/X${n}`)) return display;
      if (xvfb.exitCode !== null) break;
      await sleep(100);
    }
  }
  throw new Error('could not start Xvfb');
}

/** A charla-server process with its history in `db`. */
export async function startServer(port, db) {
  const child = track(spawn(SERVER_BIN, ['--port', String(port), '--db', db, '--rate-limit', '0'], { stdio: ['ignore', 'ignore', 'pipe'] }), 'server');
  await waitForPort(port);
  return {
    child,
    kill: async () => {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Another person: charla-cli owning `username` (its device key in a folder of its own), in
 * `room`. `say(lines)` writes them to its stdin at once, a burst (it sends them one after
 * another, each as soon as the last is acked); `events()` is what it printed (--json).
 * `close()` ends its stdin and waits for it to exit (after delivering what is left). */
export async function startCli(serverPort, username, room, base) {
  const child = track(
    spawn(CLI_BIN, ['--server', `http://127.0.0.1:${serverPort}`, '--username', username, '--room', room, '--data-dir', join(base, `cli-${username}`), '--json'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
    `cli:${username}`,
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  // Whole lines only: the last may still be being written.
  const events = () => out.split('\n').slice(0, -1).map((line) => JSON.parse(line));
  const exited = new Promise((done) => child.once('exit', done));
  await eventually(() => events().some((e) => e.event === 'joined'), `${username} joined`);
  return {
    child,
    events,
    say: (lines) => child.stdin.write(lines.map((line) => `${line}\n`).join('')),
    close: async () => {
      child.stdin.end();
      return exited;
    },
  };
}

/** tauri-driver on a free port, with the app's environment. */
export async function startDriver(env) {
  const port = await freePort();
  const nativePort = await freePort();
  const child = track(
    spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] }),
    'tauri-driver',
  );
  // The app's own log (it reaches us through WebKitWebDriver and tauri-driver), without colours.
  let log = '';
  child.stderr.on('data', (chunk) => {
    log += String(chunk).replace(/\x1b\[[0-9;]*m/g, '');
  });
  await waitForPort(port);
  // tauri-driver forwards sessions to WebKitWebDriver, which it starts on the native port: on a
  // cold machine that takes a moment, and a session asked for before it listens is cut off.
  await waitForPort(nativePort, 30000);
  return { port, child, log: () => log };
}

export async function openApp(driverPort) {
  return remote({
    hostname: '127.0.0.1',
    port: driverPort,
    logLevel: 'warn',
    connectionRetryTimeout: 60000,
    connectionRetryCount: 0,
    capabilities: {
      'wdio:enforceWebDriverClassic': true,
      'tauri:options': { application: APP_BIN },
    },
  });
}

export function tempDirs() {
  const base = mkdtempSync(join(tmpdir(), 'charla-e2e-'));
  return { base, config: join(base, 'config'), data: join(base, 'data'), db: join(base, 'history.db') };
}

export async function screenshot(browser, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await browser.saveScreenshot(join(ARTIFACTS, `${name}.png`));
}

/** Polls `check` until it returns a truthy value. */
export async function eventually(check, what, ms = 20000) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** A returning user's config (straight to the chat), in `dirs.config`. */
export function returningUser(dirs, username, serverPort) {
  mkdirSync(dirs.config, { recursive: true });
  writeFileSync(join(dirs.config, 'config.json'), JSON.stringify({ username, serverUrl: `ws://127.0.0.1:${serverPort}` }));
}

/** dunst shows notifications on `display`; what reaches it over D-Bus is recorded: `log()` is
 * the monitor's output, `shown()` one entry per `Notify` call. */
export function startNotifications(display) {
  track(spawn('dunst', [], { env: { ...process.env, DISPLAY: display }, stdio: ['ignore', 'ignore', 'pipe'] }), 'dunst');
  const monitor = track(spawn('dbus-monitor', ["interface='org.freedesktop.Notifications',member='Notify'"], { stdio: ['ignore', 'pipe', 'pipe'] }), 'dbus-monitor');
  let log = '';
  monitor.stdout.on('data', (chunk) => {
    log += chunk;
  });
  return { log: () => log, shown: () => log.split('member=Notify').slice(1) };
}

/** The whole screen (tray, notifications), as a person sees it. */
export function screenshotRoot(display, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return new Promise((done) => {
    const shot = spawn('import', ['-window', 'root', join(ARTIFACTS, `${name}.png`)], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' });
    shot.once('exit', done);
    shot.once('error', done);
  });
}

/** Ana, a returning user, on a display with a notification server, against a fresh server:
 * what the tests of the app in the operating system start from. */
export async function returningAna(extraEnv = {}) {
  const display = await startDisplay();
  const dirs = tempDirs();
  const serverPort = await freePort();
  await startServer(serverPort, dirs.db);
  returningUser(dirs, 'ana', serverPort);
  const notifier = startNotifications(display);
  const env = { DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, XDG_CONFIG_HOME: join(dirs.base, 'xdg'), ...extraEnv };
  const driver = await startDriver({ ...process.env, ...env, WEBKIT_DISABLE_COMPOSITING_MODE: '1' });
  return { display, dirs, serverPort, notifier, driver, env };
}

/** The composer of the open conversation. */
export const composer = (app) => app.$('textarea[aria-label="Message"]');
/** The open conversation's header, as text (title, topic, members). */
export const headerText = (app) => app.execute(() => document.querySelector('[data-testid="room-header"]')?.textContent ?? '');

/** Makes room `name` in the app (New room) and waits until it is open. */
export async function newRoom(app, name) {
  await (await app.$('button=New room')).click();
  await (await app.$('//div[@role="dialog"]//label[contains(., "Name")]//input')).setValue(name);
  await (await app.$('//div[@role="dialog"]//button[normalize-space(.)="Create"]')).click();
  await eventually(async () => (await headerText(app)).includes(name), `${name} open`);
}

let axeSource;
/** axe-core inside the real webview: the serious and critical violations on the screen now, as
 * `rule (impact): targets` lines. The app's CSP forbids eval, so axe is defined by the script
 * body WebDriver evaluates (outside the page's CSP) and kept on the window. */
export async function seriousViolations(app) {
  axeSource ??= readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await app.execute(`if (!window.__charlaAxe) { ${axeSource}\nwindow.__charlaAxe = axe; }`);
  return app.executeAsync((done) => {
    window.__charlaAxe
      .run(document, { resultTypes: ['violations'] })
      .then((r) => done(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)))
      .catch((e) => done([`axe failed: ${e}`]));
  });
}
