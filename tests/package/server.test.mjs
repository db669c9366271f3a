// The server's .deb (scripts/server-deb.sh): unpacked into a scratch root (nothing installed),
// it holds the binary, a systemd unit that systemd itself accepts (a user of its own, a state
// directory), and a commented settings file kept as a conffile; and the packaged binary, run
// with the packaged settings file, serves (its database moved by an option, as the file says
// options may).
// By default the release package (`npm run bundle:server`, target/release/bundle/server);
// `npm test` checks the one made from the test build (CHARLA_SERVER_DEB_DIR).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = process.env.CHARLA_SERVER_DEB_DIR ?? join(ROOT, 'target/release/bundle/server');

function theDeb() {
  const found = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.deb')) : [];
  assert.equal(found.length, 1, `one .deb in ${DIR} (build it with: npm run bundle:server)`);
  return join(DIR, found[0]);
}

function unpacked() {
  const root = mkdtempSync(join(tmpdir(), 'charla-server-deb-'));
  execFileSync('dpkg-deb', ['-R', theDeb(), root]);
  return root;
}

test('the package: metadata, binary, unit, settings file as a conffile', () => {
  const info = execFileSync('dpkg-deb', ['--info', theDeb()], { encoding: 'utf8' });
  assert.match(info, /Package: charla-server/);
  assert.match(info, /Version: 0\.1\.0/);
  assert.match(info, /Section: net/);
  assert.match(info, /Depends: .*libc6 \(>= [0-9.]+\)/);
  assert.match(info, /Description: Chat server/);

  const root = unpacked();
  assert.ok(statSync(join(root, 'usr/bin/charla-server')).mode & 0o111, 'the binary is executable');
  assert.equal(readFileSync(join(root, 'DEBIAN/conffiles'), 'utf8').trim(), '/etc/charla/server.toml');
  const unit = readFileSync(join(root, 'lib/systemd/system/charla-server.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/charla-server --config \/etc\/charla\/server\.toml$/m);
  assert.match(unit, /^DynamicUser=yes$/m);
  assert.match(unit, /^StateDirectory=charla$/m);
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  const settings = readFileSync(join(root, 'etc/charla/server.toml'), 'utf8');
  assert.match(settings, /^db = "\/var\/lib\/charla\/history\.db"$/m, 'history in the state directory');
  for (const script of ['postinst', 'prerm', 'postrm']) {
    assert.ok(statSync(join(root, 'DEBIAN', script)).mode & 0o111, `${script} is executable`);
  }
});

test('systemd accepts the unit', () => {
  const root = unpacked();
  // Verified where it would be installed, with the packaged binary standing in for /usr/bin's.
  const units = mkdtempSync(join(tmpdir(), 'charla-unit-'));
  const unit = readFileSync(join(root, 'lib/systemd/system/charla-server.service'), 'utf8')
    .replace('/usr/bin/charla-server', join(root, 'usr/bin/charla-server'));
  writeFileSync(join(units, 'charla-server.service'), unit);
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', join(units, 'charla-server.service')], {
    encoding: 'utf8',
  });
  // It reports what it dislikes (an unknown key, a bad value) on stderr, naming the file.
  const said = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, said);
  assert.doesNotMatch(said, /charla-server\.service:/, said);
});

test('the packaged binary serves with the packaged settings file', async (t) => {
  const root = unpacked();
  const state = mkdtempSync(join(tmpdir(), 'charla-state-'));
  const server = spawn(
    join(root, 'usr/bin/charla-server'),
    ['--config', join(root, 'etc/charla/server.toml'), '--db', join(state, 'history.db'), '--port', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'info' } },
  );
  t.after(() => server.kill('SIGKILL'));
  let log = '';
  server.stderr.on('data', (chunk) => (log += chunk));
  const deadline = Date.now() + 20_000;
  let address;
  while (!address) {
    assert.ok(Date.now() < deadline, `the server never said where it listens:\n${log}`);
    assert.equal(server.exitCode, null, `the server exited:\n${log}`);
    address = /Charla server listening address=Some\(([\d.]+:\d+)\)/.exec(log)?.[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(address, /^127\.0\.0\.1:/, 'the packaged settings keep it on this machine');
  const health = await fetch(`http://${address}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), 'ok\n');
  assert.ok(existsSync(join(state, 'history.db')), 'the option moved the database');
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  assert.equal(server.exitCode, 0, log);
});
