/** Clock, scheduler, persistence, reset, HTTP controls and start-up errors. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';
import { p } from '../../src/emulator/params.ts';
import { STATE_FILE } from '../../src/emulator/persistence.ts';
import { type ResourceModule, route } from '../../src/emulator/resource.ts';
import { eventually, Receiver, sdkFor } from './helpers.ts';

/** A test resource with a task kind: `POST /v1/test_alarms {at, label}` rings at `at` as an event. */
const alarms: ResourceModule = {
  name: 'test_alarms',
  objects: [{ prefix: 'alarm_', collection: 'test_alarm' }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/test_alarms',
      params: { at: p.integer().required(), label: p.string().required() },
      handler(ctx) {
        const alarm = {
          id: ctx.newId('alarm'),
          object: 'test_alarm',
          created: ctx.now(),
          label: ctx.params.label,
          rang_at: null,
        };
        ctx.store.collection('test_alarm').insert(alarm);
        ctx.schedule(ctx.params.at, 'test_alarm.ring', { id: alarm.id });
        return alarm;
      },
    }),
  ],
  tasks: {
    'test_alarm.ring'(ctx, payload) {
      const { id } = payload as { id: string };
      const alarms = ctx.store.collection<{ id: string; rang_at: number | null }>('test_alarm');
      const alarm = { ...alarms.get(id)!, rang_at: ctx.now() };
      alarms.replace(alarm);
      ctx.emit('test_alarm.rang', alarm);
    },
  },
};

const open: RunningEmulator[] = [];
const dirs: string[] = [];
async function start(options: Partial<Parameters<typeof startEmulator>[0]> = {}) {
  const emu = await startEmulator({ port: 0, extraResources: [alarms], ...options });
  open.push(emu);
  return { emu, stripe: sdkFor(emu) };
}
async function tempDir() {
  const dir = await mkdtemp(path.join(tmpdir(), 'stripe-emu-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const emu of open.splice(0)) await emu.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('clock and scheduler', () => {
  it('starts at startTime and refuses to go backwards', async () => {
    const { emu } = await start({ startTime: 1_900_000_000 });
    expect(emu.now()).toBeGreaterThanOrEqual(1_900_000_000);
    expect(emu.now()).toBeLessThan(1_900_000_005);
    await expect(emu.advance(-1)).rejects.toThrow(/non-negative/);
    await emu.advance(86_400);
    expect(emu.now()).toBeGreaterThanOrEqual(1_900_086_400);
  });

  it('runs due tasks in time order with the clock at each task time, then delivers their events', async () => {
    const receiver = await new Receiver().start();
    try {
      const { emu, stripe } = await start({ startTime: 1_900_000_000 });
      await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
      const t0 = emu.now();
      const late = await stripe.rawRequest('POST', '/v1/test_alarms', { at: t0 + 300, label: 'late' });
      const early = await stripe.rawRequest('POST', '/v1/test_alarms', { at: t0 + 100, label: 'early' });
      await stripe.rawRequest('POST', '/v1/test_alarms', { at: t0 + 10_000, label: 'not yet' });

      await emu.advance(500);
      const rang = (await stripe.events.list({ type: 'test_alarm.rang' })).data.reverse();
      expect(rang.map((e) => (e.data.object as unknown as { label: string }).label)).toEqual([
        'early',
        'late',
      ]);
      expect(rang.map((e) => e.created)).toEqual([t0 + 100, t0 + 300]);
      expect(rang[0]!.request).toEqual({ id: null, idempotency_key: null });
      // advance() resolved only after the first delivery attempts.
      expect(
        receiver
          .ofType('test_alarm.rang')
          .map((r) => (r.event.data.object as unknown as { id: string }).id)
          .sort(),
      ).toEqual([early.id, late.id].sort());
    } finally {
      await receiver.stop();
    }
  });
  it('also runs a task when real time reaches it, without advance()', async () => {
    const { emu, stripe } = await start();
    await stripe.rawRequest('POST', '/v1/test_alarms', { at: emu.now() + 1, label: 'real time' });
    await eventually(
      async () => (await stripe.events.list({ type: 'test_alarm.rang' })).data.length === 1,
      4_000,
    );
  });
});

describe('persistence', () => {
  it('keeps objects, events, idempotency keys, tasks and the clock across close/start', async () => {
    const dataDir = await tempDir();
    const first = await start({ dataDir, startTime: 1_900_000_000 });
    const customer = await first.stripe.customers.create(
      { email: 'persist@example.de' },
      { idempotencyKey: 'persist-1' },
    );
    await first.emu.advance(1000);
    await first.stripe.rawRequest('POST', '/v1/test_alarms', {
      at: first.emu.now() + 50,
      label: 'after restart',
    });
    const clockBefore = first.emu.now();
    await first.emu.close();
    expect(existsSync(path.join(dataDir, STATE_FILE))).toBe(true);

    const second = await start({ dataDir, startTime: 1 });
    expect(second.emu.now()).toBeGreaterThanOrEqual(clockBefore);
    const again = await second.stripe.customers.retrieve(customer.id);
    expect((again as Stripe.Customer).email).toBe('persist@example.de');
    const replay = await second.stripe.customers.create(
      { email: 'persist@example.de' },
      { idempotencyKey: 'persist-1' },
    );
    expect(replay.id).toBe(customer.id);
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
    const created = await second.stripe.events.list({ type: 'customer.created' });
    expect(created.data.map((e) => (e.data.object as Stripe.Customer).id)).toEqual([customer.id]);

    await second.emu.advance(100);
    const rang = await second.stripe.events.list({ type: 'test_alarm.rang' });
    expect(rang.data).toHaveLength(1);
  });

  it('delivers webhooks that were pending at shutdown after the restart', async () => {
    const dataDir = await tempDir();
    const receiver = await new Receiver().start();
    try {
      const first = await start({ dataDir, webhookRetryDelaysMs: [60_000] });
      await first.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
      await receiver.stop();
      const c = await first.stripe.customers.create({ name: 'pending' });
      await first.emu.drainWebhooks(); // one failed attempt; the next is a minute away
      await first.emu.close();

      await receiver.restart();
      const second = await start({ dataDir, webhookRetryDelaysMs: [60_000] });
      // The retry is still a minute out: nothing yet, and it is still pending (not lost).
      await new Promise((r) => setTimeout(r, 100));
      expect(receiver.received).toHaveLength(0);
      await second.emu.close();

      // Tamper the persisted next-attempt time so the test need not wait a minute.
      const file = path.join(dataDir, STATE_FILE);
      const state = JSON.parse(await (await import('node:fs/promises')).readFile(file, 'utf8'));
      expect(state.deliveries).toHaveLength(1);
      state.deliveries[0].next_attempt_at = 0;
      await writeFile(file, JSON.stringify(state));
      await start({ dataDir });
      await eventually(() => receiver.received.length === 1);
      expect((receiver.received[0]!.event.data.object as Stripe.Customer).id).toBe(c.id);
    } finally {
      await receiver.stop();
    }
  });

  it('reset() wipes state and the file', async () => {
    const dataDir = await tempDir();
    const { emu, stripe } = await start({ dataDir, startTime: 1_900_000_000 });
    const c = await stripe.customers.create({ name: 'gone soon' });
    await emu.advance(10_000);
    await emu.reset();
    expect(existsSync(path.join(dataDir, STATE_FILE))).toBe(false);
    expect(emu.now()).toBeLessThan(1_900_010_000);
    await expect(stripe.customers.retrieve(c.id)).rejects.toMatchObject({ statusCode: 404 });
    expect((await stripe.events.list()).data).toEqual([]);
  });
});

describe('HTTP controls', () => {
  it('GET clock, POST advance (JSON and form), webhook-chaos and reset', async () => {
    const { emu, stripe } = await start({ startTime: 1_900_000_000 });
    const auth = { Authorization: 'Bearer sk_test_control' };
    const clock = (await (await fetch(`${emu.url}/_emulator/clock`, { headers: auth })).json()) as {
      now: number;
    };
    expect(clock.now).toBe(emu.now());

    const json = await fetch(`${emu.url}/_emulator/advance`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ seconds: 3600 }),
    });
    expect(((await json.json()) as { now: number }).now).toBeGreaterThanOrEqual(1_900_003_600);
    const form = await fetch(`${emu.url}/_emulator/advance`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'seconds=3600',
    });
    expect(((await form.json()) as { now: number }).now).toBeGreaterThanOrEqual(1_900_007_200);

    const negative = await fetch(`${emu.url}/_emulator/advance`, {
      method: 'POST',
      headers: auth,
      body: 'seconds=-5',
    });
    expect(negative.status).toBe(400);
    const unauth = await fetch(`${emu.url}/_emulator/clock`);
    expect(unauth.status).toBe(401);

    const chaos = await fetch(`${emu.url}/_emulator/webhook-chaos`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ shuffle: true }),
    });
    expect(await chaos.json()).toEqual({ shuffle: true, duplicate: false });

    await stripe.customers.create({ name: 'to be reset' });
    const reset = await fetch(`${emu.url}/_emulator/reset`, { method: 'POST', headers: auth });
    expect(reset.status).toBe(200);
    expect((await stripe.customers.list()).data).toEqual([]);
  });
});

describe('start-up errors', () => {
  it('says which port is taken', async () => {
    const { emu } = await start();
    await expect(startEmulator({ port: emu.port })).rejects.toThrow(`port ${emu.port} is already in use`);
  });

  it('says which data dir is unusable', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(startEmulator({ port: 0, dataDir: path.join(file, 'sub') })).rejects.toThrow(
      path.join(file, 'sub'),
    );
  });

  it('says which state file is corrupt', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, STATE_FILE), '{not json');
    await expect(startEmulator({ port: 0, dataDir: dir })).rejects.toThrow(path.join(dir, STATE_FILE));
  });

  it('refuses a webhook secret that is not whsec_', async () => {
    await expect(startEmulator({ port: 0, webhookSigningSecret: 'secret' })).rejects.toThrow(/whsec_/);
  });
});
