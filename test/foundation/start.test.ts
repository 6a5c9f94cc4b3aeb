/**
 * `npm start` and `npm run emulator` as a new user runs them: real processes, real ports, a data dir that survives
 * a restart, and one clear line (not a stack trace) when something is in the way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Made up, and built at run time so no live-looking key sits in the repository.
const FAKE_LIVE_KEY = ['sk', 'live', '51Abcdefghijklmnop'].join('_');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string>): Running {
  // Only what a user's shell would pass: no DATABASE_URL/REDIS_URL from the CI run, so it really runs offline.
  // One process, as `npm start` runs it (node --import tsx), so SIGTERM reaches the service itself.
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitFor(r: Running, text: string | RegExp): Promise<void> {
  for (let i = 0; i < 1800; i++) {
    const out = r.output();
    if (typeof text === 'string' ? out.includes(text) : text.test(out)) return;
    if (r.child.exitCode !== null) throw new Error(`exited early:\n${out}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`did not print ${text}:\n${r.output()}`);
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill('SIGTERM');
  return r.exited;
}

describe('npm start (offline) and npm run emulator', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('starts offline, prints what to do next, serves /health and /docs, and keeps data across a restart', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mp-start-'));
    dirs.push(dataDir);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      STRIPE_EMULATOR_PORT: String(await freePort()),
    };
    const first = run(['src/main.ts'], env);
    await waitFor(first, 'admin key:');
    const banner = first.output();
    expect(banner).toContain('offline mode');
    expect(banner).toContain(`http://127.0.0.1:${env.PORT}/docs`);
    const adminKey = /admin key: (\S+)/.exec(banner)?.[1] as string;
    const base = `http://127.0.0.1:${env.PORT}`;
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    expect((await fetch(`${base}/docs/`)).status).toBe(200);
    const dealer = await fetch(`${base}/api/admin/dealers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Persistenz GmbH' }),
    });
    expect(dealer.status).toBe(201);
    const { apiKey } = (await dealer.json()) as { apiKey: string };
    // A Stripe SDK beside the service sees the emulator's single account.
    const sdk = new Stripe('sk_test_beside', {
      host: '127.0.0.1',
      port: Number(env.STRIPE_EMULATOR_PORT),
      protocol: 'http',
    });
    const customer = await sdk.customers.create({ email: 'bleibt@example.de' });
    expect(await stop(first)).toBe(0);
    // The key is never written to the log lines (only the banner prints it, once).
    expect(banner.split('\n').filter((l) => l.includes(adminKey) && l.startsWith('{'))).toEqual([]);

    const second = run(['src/main.ts'], env);
    await waitFor(second, 'admin key:');
    expect(second.output()).toContain(adminKey);
    const list = await fetch(`${base}/api/payments/customers`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(list.status).toBe(200);
    expect((await sdk.customers.retrieve(customer.id)).id).toBe(customer.id);
    // Graceful shutdown: a request in flight when SIGTERM arrives still gets its answer.
    const slow = fetch(`${base}/api/dev/advance-time`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ days: 400 }),
    });
    let answered = false;
    void slow.then(() => {
      answered = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(answered).toBe(false); // still running when the signal comes
    const exited = stop(second);
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await exited).toBe(0);
  }, 240_000);

  it('runs the emulator alone for any Stripe SDK', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mp-emu-'));
    dirs.push(dataDir);
    const port = await freePort();
    const emu = run(['src/main.ts', '--emulator-only'], {
      DATA_DIR: dataDir,
      STRIPE_EMULATOR_PORT: String(port),
    });
    await waitFor(emu, 'Stripe emulator listening');
    const sdk = new Stripe('sk_test_any', { host: '127.0.0.1', port, protocol: 'http' });
    expect((await sdk.products.create({ name: 'MORELO Home' })).id).toMatch(/^prod_/);
    await expect(
      new Stripe(FAKE_LIVE_KEY, { host: '127.0.0.1', port, protocol: 'http' }).products.list(),
    ).rejects.toThrow();
    expect(await stop(emu)).toBe(0);
  }, 120_000);

  it('says in one line what is wrong: a live key offline, a taken port, an unusable data dir', async () => {
    const live = run(['src/main.ts'], { STRIPE_SECRET_KEY: FAKE_LIVE_KEY });
    expect(await live.exited).toBe(1);
    expect(live.output().trim().split('\n')).toHaveLength(1);
    expect(live.output()).toContain('STRIPE_SECRET_KEY');
    expect(live.output()).not.toContain(FAKE_LIVE_KEY);

    const blocker = createServer();
    const taken = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mp-port-'));
    dirs.push(dataDir);
    const busy = run(['src/main.ts'], {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      STRIPE_EMULATOR_PORT: String(taken),
    });
    expect(await busy.exited).toBe(1);
    expect(busy.output()).toMatch(new RegExp(`port ${taken} is already in use`));
    expect(busy.output()).not.toMatch(/\n\s+at /);
    blocker.close();

    const file = path.join(dataDir, 'not-a-dir');
    await writeFile(file, 'x');
    const bad = run(['src/main.ts'], {
      DATA_DIR: file,
      PORT: String(await freePort()),
      STRIPE_EMULATOR_PORT: String(await freePort()),
    });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain(file);
    expect(bad.output()).not.toMatch(/\n\s+at /);
  }, 120_000);
});
