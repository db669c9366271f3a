// Shared by the interop tests: start a real charla-server process on a free port, wait for
// it, stop it; and small promise helpers around socket.io-client.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const SERVER_BIN = process.env.CHARLA_SERVER_BIN ?? 'target/debug/charla-server';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts charla-server (in-memory history, no rate limit unless given) and waits for /healthz. */
export async function startServer(args = []) {
  const port = await freePort();
  const child = spawn(SERVER_BIN, ['--port', String(port), '--db', ':memory:', '--rate-limit', '0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) throw new Error(`charla-server exited: ${log}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return { url, port, child, stop: () => stop(child), log: () => log };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`charla-server did not start: ${log}`);
}

async function stop(child) {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  child.kill('SIGTERM');
  return exited;
}

/** Resolves with the first `event` the socket receives, or rejects after `ms`. */
export function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args.length > 1 ? args : args[0]);
    });
  });
}

/** Resolves when the socket is connected (rejects on connect_error). */
export function connected(socket, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect')), ms);
    socket.once('connect', () => { clearTimeout(timer); resolve(); });
    socket.once('connect_error', (error) => { clearTimeout(timer); reject(error); });
  });
}
