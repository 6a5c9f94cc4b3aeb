import { Writable } from 'node:stream';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.ts';
import type { Database, Db } from '../../src/platform/db/index.ts';
import type { ServiceDeps } from '../../src/platform/deps.ts';
import { createLogger } from '../../src/platform/logger.ts';
import {
  enqueueOutbox,
  MAX_OUTBOX_ATTEMPTS,
  OutboxDispatcher,
  type OutboxRow,
  outbox,
} from '../../src/platform/outbox.ts';
import { createTestDatabase } from '../helpers/db.ts';

describe('transactional outbox', () => {
  let database: Database;
  let drop: () => Promise<void>;
  let clock: ManualClock;
  let deps: ServiceDeps;

  beforeAll(async () => {
    ({ database, drop } = await createTestDatabase());
    clock = new ManualClock(Date.UTC(2026, 2, 2, 9));
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    deps = {
      db: database.db,
      clock,
      log: createLogger({ destination: quiet }),
    } as unknown as ServiceDeps;
    // A table of our own the senders write to, to see that their writes commit or roll back with the row.
    await database.db.execute(sql`CREATE TABLE outbox_test_effects (dedupe_key text PRIMARY KEY)`);
  });
  afterAll(() => drop());
  beforeEach(async () => {
    await database.db.delete(outbox);
    await database.db.execute(sql`DELETE FROM outbox_test_effects`);
  });

  const now = () => new Date(clock.now());
  const rows = () => database.db.select().from(outbox);
  const effects = async () =>
    (
      (await database.db.execute(sql`SELECT dedupe_key FROM outbox_test_effects ORDER BY 1`)) as unknown as {
        rows: { dedupe_key: string }[];
      }
    ).rows.map((r) => r.dedupe_key);
  const recordEffect = (tx: Db, row: OutboxRow) =>
    tx.execute(sql`INSERT INTO outbox_test_effects (dedupe_key) VALUES (${row.dedupeKey})`);

  it('queues a side effect only with its transaction, and the same dedupe key only once', async () => {
    await database.db
      .transaction(async (tx) => {
        await enqueueOutbox(tx as unknown as Db, { topic: 't', payload: {}, dedupeKey: 'lost', now: now() });
        throw new Error('the state change failed');
      })
      .catch(() => {});
    const first = await enqueueOutbox(database.db, {
      topic: 't',
      payload: { n: 1 },
      dedupeKey: 'k1',
      now: now(),
    });
    const again = await enqueueOutbox(database.db, {
      topic: 't',
      payload: { n: 2 },
      dedupeKey: 'k1',
      now: now(),
    });
    expect([first, again]).toEqual([true, false]);
    const all = await rows();
    expect(all.map((r) => [r.dedupeKey, r.payload])).toEqual([['k1', { n: 1 }]]);
  });

  it('sends each message once and commits the sender’s writes with the sent mark', async () => {
    const seen: string[] = [];
    const dispatcher = new OutboxDispatcher(deps, {
      mail: async ({ tx }, row) => {
        seen.push(row.dedupeKey);
        await recordEffect(tx, row);
      },
    });
    for (const key of ['a', 'b', 'c'])
      await enqueueOutbox(database.db, { topic: 'mail', payload: {}, dedupeKey: key, now: now() });
    await dispatcher.drain();
    await dispatcher.drain();
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
    expect(await effects()).toEqual(['a', 'b', 'c']);
    expect((await rows()).every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  });

  it('two dispatchers at once never send the same message twice', async () => {
    const seen: string[] = [];
    const sender = async ({ tx }: { tx: Db }, row: OutboxRow) => {
      seen.push(row.dedupeKey);
      await recordEffect(tx, row);
    };
    const keys = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    for (const key of keys)
      await enqueueOutbox(database.db, { topic: 'mail', payload: {}, dedupeKey: key, now: now() });
    const one = new OutboxDispatcher(deps, { mail: sender });
    const two = new OutboxDispatcher(deps, { mail: sender });
    await Promise.all([one.drain(), two.drain(), one.drain()]);
    expect(seen.sort()).toEqual(keys);
    expect(await effects()).toEqual(keys);
  });

  it('retries a failing sender with backoff, rolls its writes back, and gives up after the limit', async () => {
    let calls = 0;
    const dispatcher = new OutboxDispatcher(deps, {
      mail: async ({ tx }, row) => {
        calls++;
        await recordEffect(tx, row);
        throw new Error('SMTP 451 try again later');
      },
    });
    await enqueueOutbox(database.db, { topic: 'mail', payload: {}, dedupeKey: 'flaky', now: now() });
    await dispatcher.drain();
    expect(calls).toBe(1);
    expect(await effects()).toEqual([]);
    const [afterFirst] = await rows();
    expect(afterFirst).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'SMTP 451 try again later',
    });

    // Not due again until the backoff has passed.
    await dispatcher.drain();
    expect(calls).toBe(1);
    for (let i = 0; i < MAX_OUTBOX_ATTEMPTS + 2; i++) {
      clock.advance(7 * 3_600_000);
      await dispatcher.drain();
    }
    expect(calls).toBe(MAX_OUTBOX_ATTEMPTS);
    const [last] = await rows();
    expect(last).toMatchObject({ status: 'failed', attempts: MAX_OUTBOX_ATTEMPTS });
  });

  it('a message accepted outside but not committed here is sent again (at-least-once towards SMTP)', async () => {
    const smtp: string[] = [];
    let crashAfterAccept = true;
    const dispatcher = new OutboxDispatcher(deps, {
      mail: async (_ctx, row) => {
        smtp.push(row.dedupeKey);
        if (crashAfterAccept) throw new Error('connection lost before COMMIT');
      },
    });
    await enqueueOutbox(database.db, { topic: 'mail', payload: {}, dedupeKey: 'letter-1', now: now() });
    await dispatcher.drain();
    crashAfterAccept = false;
    clock.advance(60_000);
    await dispatcher.drain();
    await dispatcher.drain();
    // The far side saw it twice with the same key to drop the repeat by; our row was sent once.
    expect(smtp).toEqual(['letter-1', 'letter-1']);
    const [row] = await database.db.select().from(outbox).where(eq(outbox.dedupeKey, 'letter-1'));
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('a topic without a sender is kept and retried, not dropped', async () => {
    const dispatcher = new OutboxDispatcher(deps, {});
    await enqueueOutbox(database.db, { topic: 'unknown', payload: {}, dedupeKey: 'u', now: now() });
    await dispatcher.drain();
    const [row] = await rows();
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row?.lastError).toContain('no sender registered for topic unknown');
  });
});
