// The desktop footprint, measured side by side with an empty Tauri 2 app in the same run:
// idle PSS of the whole process tree (app + WebKit processes) after connecting and receiving
// 1,000 messages (FOOTPRINT_MESSAGES), time from launch to the first message on screen, time to render
// the history a join brings from a server holding 10,000 messages (the server's replay budget:
// about 1,800 of them), and the .deb's size. Run it with `npm run footprint`
// (scripts/footprint.sh builds what it needs); results go to target/footprint/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';
import { ROOT, eventually, startDisplay, startDriver, stopAll, tempDirs, track } from '../e2e/harness.mjs';
import { startServer } from '../interop/harness.mjs';
import { remote } from 'webdriverio';

const APP = process.env.CHARLA_APP_BIN ?? join(ROOT, 'target/dist/charla');
const EMPTY = process.env.CHARLA_EMPTY_APP_BIN ?? join(ROOT, 'target/dist/charla-empty-app');
const OUT = join(ROOT, 'target/footprint');
const ROUNDS = Number(process.env.FOOTPRINT_ROUNDS ?? 3);
const SETTLE_MS = 8000;
// Messages Charla receives before its memory is read (FOOTPRINT_MESSAGES=0 shows the idle UI).
const MESSAGES = Number(process.env.FOOTPRINT_MESSAGES ?? 1000);

// ---- processes and memory (Linux /proc) ----

/** Every process id below `root` (its children, their children, …), `root` included. */
function processTree(root) {
  const parents = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** Proportional set size of the tree, in bytes (shared pages split among their users). */
function pssOfTree(root) {
  let kib = 0;
  const processes = [];
  for (const pid of processTree(root)) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const pss = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
      kib += pss;
      processes.push({ name: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), pssMiB: Math.round(pss / 1024) });
    } catch {
      // gone meanwhile
    }
  }
  return { bytes: kib * 1024, processes };
}

/** When process `pid` started, in ms since the epoch (10 ms resolution). */
function startedAt(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]); // field 22 of stat, counted from `state`
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Date.now() - (uptime - startTicks / 100) * 1000;
}

/** The newest process running `binary`. */
function newestProcess(binary) {
  let best;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0] !== binary) continue;
      const at = startedAt(Number(name));
      if (!best || at > best.at) best = { pid: Number(name), at };
    } catch {
      // gone meanwhile
    }
  }
  return best;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

// ---- a chat peer ----

async function peer(url, name) {
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const joined = await socket.timeout(5000).emitWithAck('join', name);
  if (!joined.ok) throw new Error(`peer could not join: ${JSON.stringify(joined)}`);
  return socket;
}

/** Sends `count` messages, 100 in flight at a time, each acknowledged. */
async function sendMany(socket, count, prefix) {
  for (let start = 0; start < count; start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + 100); i += 1) {
      batch.push(socket.timeout(10000).emitWithAck('chat-message', { text: `${prefix} ${i + 1}`, clientId: `${prefix}-${i}` }));
    }
    for (const ack of await Promise.all(batch)) if (!ack.ok) throw new Error(`refused: ${JSON.stringify(ack)}`);
  }
}

function profile(dirs, url, username = 'ana') {
  mkdirSync(dirs.config, { recursive: true });
  writeFileSync(join(dirs.config, 'config.json'), JSON.stringify({ username, serverUrl: url }));
}

// ---- the measurements ----

async function emptyAppPss(display) {
  const child = track(spawn(EMPTY, [], { env: { ...process.env, DISPLAY: display }, stdio: ['ignore', 'ignore', 'pipe'] }), 'empty-app');
  await sleep(SETTLE_MS);
  if (child.exitCode !== null) throw new Error('the empty app exited');
  const pss = pssOfTree(child.pid);
  child.kill('SIGTERM');
  await new Promise((done) => child.once('exit', done));
  return pss;
}

async function charlaPss(display) {
  const server = await startServer();
  const bob = await peer(server.url, 'bob');
  const dirs = tempDirs();
  profile(dirs, server.url);
  const anaJoined = new Promise((resolve) => bob.on('user-joined', (name) => name === 'ana' && resolve()));
  const env = { ...process.env, DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, XDG_CONFIG_HOME: join(dirs.base, 'xdg') };
  const child = track(spawn(APP, [], { env, stdio: ['ignore', 'ignore', 'pipe'] }), 'charla');
  await Promise.race([anaJoined, sleep(20000).then(() => { throw new Error('the app never joined'); })]);
  await sendMany(bob, MESSAGES, 'message');
  await sleep(SETTLE_MS);
  if (child.exitCode !== null) throw new Error('the app exited');
  const pss = pssOfTree(child.pid);
  child.kill('SIGTERM');
  await new Promise((done) => child.once('exit', done));
  bob.close();
  await server.stop();
  return pss;
}

/** Launches the app through WebDriver against a server holding `history` messages and reads
 * the page's performance marks. */
async function launchTimings(display, history) {
  const server = await startServer(['--history', String(Math.max(history, 500))]);
  const bob = await peer(server.url, 'bob');
  await sendMany(bob, history, 'old');
  const dirs = tempDirs();
  profile(dirs, server.url);
  const driver = await startDriver({ DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, XDG_CONFIG_HOME: join(dirs.base, 'xdg') });
  const browser = await remote({
    hostname: '127.0.0.1',
    port: driver.port,
    logLevel: 'warn',
    connectionRetryTimeout: 60000,
    connectionRetryCount: 0,
    capabilities: { 'wdio:enforceWebDriverClassic': true, 'tauri:options': { application: APP } },
  });
  try {
    const marks = await eventually(async () => {
      const m = await browser.execute(() => ({
        origin: performance.timeOrigin,
        received: performance.getEntriesByName('charla:history-received').map((e) => ({ at: e.startTime, n: e.detail })),
        painted: performance.getEntriesByName('charla:rows-painted').map((e) => ({ at: e.startTime, n: e.detail })),
      }));
      // The join brings the newest messages up to the server's replay budget (256 KiB: about
      // 1,800 of these), not all `history`: what counts is painting all it brought.
      const brought = m.received.find((r) => r.n > 0);
      return brought && m.painted.some((p) => p.n >= brought.n && p.at >= brought.at) ? m : null;
    }, 'the join\'s messages painted', 60000);
    const app = newestProcess(APP);
    if (!app) throw new Error('could not find the app process');
    const firstPaint = marks.painted.find((p) => p.n > 0);
    const received = marks.received.find((r) => r.n > 0);
    const full = marks.painted.find((p) => p.n >= received.n && p.at >= received.at);
    return {
      launchToFirstMessageMs: marks.origin + firstPaint.at - app.at,
      historyRenderMs: full.at - received.at,
      historyMessages: received.n,
    };
  } finally {
    await browser.deleteSession().catch(() => {});
    driver.child.kill('SIGTERM');
    bob.close();
    await server.stop();
  }
}

function debSize() {
  const dir = join(ROOT, 'target/dist/bundle/deb');
  const deb = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.deb')) : undefined;
  return deb ? statSync(join(dir, deb)).size : null;
}

const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ms = (x) => `${x.toFixed(0)} ms`;
const range = (s, f) => (s.runs.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median));

async function main() {
  for (const bin of [APP, EMPTY]) if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/footprint.sh`);
  const display = await startDisplay();
  const empty = [];
  const charla = [];
  let processes = {};
  // Alternate the two apps so drift on the machine hits both alike.
  for (let round = 1; round <= ROUNDS; round += 1) {
    const e = await emptyAppPss(display);
    const c = await charlaPss(display);
    empty.push(e.bytes);
    charla.push(c.bytes);
    processes = { empty: e.processes, charla: c.processes };
    const each = (p) => p.processes.map((x) => `${x.name} ${x.pssMiB}`).join(', ');
    console.error(`round ${round}: PSS empty ${mib(e.bytes)} (${each(e)}), Charla ${mib(c.bytes)} (${each(c)})`);
  }
  const firstMessage = [];
  const historyRender = [];
  let historyMessages = 0;
  for (let round = 1; round <= ROUNDS; round += 1) {
    const one = await launchTimings(display, 1);
    const many = await launchTimings(display, 10000);
    firstMessage.push(one.launchToFirstMessageMs);
    historyRender.push(many.historyRenderMs);
    historyMessages = many.historyMessages;
    console.error(`round ${round}: launch → first message ${ms(one.launchToFirstMessageMs)}, the join's ${many.historyMessages} of 10,000 stored messages painted ${ms(many.historyRenderMs)}`);
  }
  const deb = debSize();
  const report = {
    machine: { cpus: (await import('node:os')).cpus().length, kernel: (await import('node:os')).release() },
    rounds: ROUNDS,
    pss: { charla: spread(charla), empty: spread(empty), ratio: median(charla) / median(empty), processes },
    launchToFirstMessageMs: spread(firstMessage),
    historyRender10kMs: spread(historyRender),
    historyMessages,
    debBytes: deb,
  };
  const table = [
    '| | Charla | empty Tauri 2 app | Charla / empty | target |',
    '|---|---|---|---|---|',
    `| idle PSS, app + WebKit processes | ${range(report.pss.charla, mib)} | ${range(report.pss.empty, mib)} | ${report.pss.ratio.toFixed(2)}× | ≤ 1.1× |`,
    `| launch → first message on screen | ${range(report.launchToFirstMessageMs, ms)} | – | – | ≤ 1500 ms |`,
    `| a join's history (${historyMessages} of 10,000 stored), arrival → painted | ${range(report.historyRender10kMs, ms)} | – | – | ≤ 300 ms |`,
    `| .deb | ${deb === null ? 'not built (npm run bundle)' : `${(deb / 1e6).toFixed(2)} MB`} | – | – | ≤ 6 MB |`,
  ].join('\n');
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(OUT, 'report.md'), `${table}\n`);
  console.log(table);
  console.error(`wrote ${join(OUT, 'report.md')} and report.json`);
}

try {
  await main();
} finally {
  await stopAll();
}
