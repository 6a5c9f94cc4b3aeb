/**
 * The transactional outbox. A side effect is queued with `enqueueOutbox(tx, …)` inside the transaction
 * that makes the state change, so either both commit or neither does; a dispatcher sends it afterwards.
 *
 * Delivery and its crash windows. The dispatcher takes one due row at a time with
 * `FOR UPDATE SKIP LOCKED` and keeps the row lock while the sender runs; the sender's own writes
 * (e.g. a letter row moved to `sent`) and the row's `sent` mark commit in that one transaction.
 * - Two dispatchers never work on the same row at once: the second skips the locked row.
 * - A crash before the sender finished rolls everything back: the row is still pending and sent later.
 * - A crash (or a failed COMMIT) after an external system accepted the message but before our commit
 *   leaves the row pending, and it is sent again. Towards SMTP or any other system outside our database
 *   delivery is therefore at-least-once; senders pass `dedupeKey` on (e.g. as the Message-ID) so the
 *   far side can drop the repeat. Within our database it is exactly-once: the unique `dedupe_key` keeps
 *   the same effect from being queued twice, and a row marked `sent` is never claimed again.
 * - A sender that throws is retried with backoff; after MAX_OUTBOX_ATTEMPTS the row is `failed` and
 *   stays visible for an admin instead of retrying forever.
 *
 * Senders must use `ctx.tx` for every database access: on PGlite the open transaction holds the only
 * connection, so a query through another handle would wait for it forever.
 */
import { and, asc, eq, lte } from 'drizzle-orm';
import { integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { Db } from './db/index.ts';
import type { ServiceDeps } from './deps.ts';
import { newId } from './ids.ts';
import { PollLoop } from './poll-loop.ts';

/** The outbox table; see migrations/007_outbox.sql. */
export const outbox = pgTable('outbox', {
  id: text('id').primaryKey(),
  topic: text('topic').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  dedupeKey: text('dedupe_key').notNull().unique(),
  status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull(),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
  lastError: text('last_error'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
});

/** One row of the outbox. */
export type OutboxRow = typeof outbox.$inferSelect;

/** A side effect to queue. */
export interface OutboxMessage {
  topic: string;
  payload: Record<string, unknown>;
  /** Names the effect itself (e.g. `dunning-letter:<case>:<level>`); queuing it again is a no-op. */
  dedupeKey: string;
  /** When it is queued (from the injected clock); it is due at once. */
  now: Date;
}

/** Queues a message in the caller's transaction; returns false when the dedupe key was already queued. */
export async function enqueueOutbox(tx: Db, message: OutboxMessage): Promise<boolean> {
  const inserted = await tx
    .insert(outbox)
    .values({
      id: newId('obx'),
      topic: message.topic,
      payload: message.payload,
      dedupeKey: message.dedupeKey,
      status: 'pending',
      nextAttemptAt: message.now,
      createdAt: message.now,
    })
    .onConflictDoNothing({ target: outbox.dedupeKey })
    .returning({ id: outbox.id });
  return inserted.length > 0;
}

/** What a sender gets: the transaction the row is marked sent in, and the service's dependencies. */
export interface OutboxContext {
  tx: Db;
  deps: ServiceDeps;
}

/** Delivers one message; throwing means "try again later". */
export type OutboxSender = (ctx: OutboxContext, row: OutboxRow) => Promise<void>;

/** Topic → sender. */
export type OutboxSenders = Readonly<Record<string, OutboxSender>>;

/** After this many failed attempts a row is `failed` and waits for a human. */
export const MAX_OUTBOX_ATTEMPTS = 10;

/** Backoff before attempt n+1: 30 s, 2 min, 8 min … capped at 6 h. */
export function outboxRetryDelayMs(attempts: number): number {
  return Math.min(30_000 * 4 ** Math.max(0, attempts - 1), 6 * 3_600_000);
}

/** Sends due outbox rows; any number of instances may run one. */
export class OutboxDispatcher {
  private readonly loop: PollLoop;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly senders: OutboxSenders,
    pollMs = 1000,
  ) {
    this.loop = new PollLoop(
      () => this.dispatchDue(),
      (err) => deps.log.error({ err }, 'outbox pass failed'),
      pollMs,
    );
  }

  /** Claims and sends one due row; returns false when nothing was due (or every due row is taken). */
  private async dispatchOne(): Promise<boolean> {
    const now = new Date(this.deps.clock.now());
    return this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(outbox)
        .where(and(eq(outbox.status, 'pending'), lte(outbox.nextAttemptAt, now)))
        .orderBy(asc(outbox.nextAttemptAt), asc(outbox.id))
        .limit(1)
        .for('update', { skipLocked: true });
      if (!row) return false;
      const sender = this.senders[row.topic];
      const attempts = row.attempts + 1;
      try {
        if (!sender) throw new Error(`no sender registered for topic ${row.topic}`);
        // A savepoint: a sender that fails half-way leaves none of its writes behind.
        await tx.transaction((inner) => sender({ tx: inner as unknown as Db, deps: this.deps }, row));
        await tx
          .update(outbox)
          .set({ status: 'sent', attempts, sentAt: now, lastError: null })
          .where(eq(outbox.id, row.id));
      } catch (err) {
        const failed = attempts >= MAX_OUTBOX_ATTEMPTS;
        this.deps.log.warn(
          { outboxId: row.id, topic: row.topic, attempts, err },
          failed ? 'outbox message failed for good' : 'outbox message failed; will retry',
        );
        await tx
          .update(outbox)
          .set({
            status: failed ? 'failed' : 'pending',
            attempts,
            lastError: ((err as Error).message ?? String(err)).slice(0, 1000),
            nextAttemptAt: new Date(now.getTime() + outboxRetryDelayMs(attempts)),
          })
          .where(eq(outbox.id, row.id));
      }
      return true;
    });
  }

  /** One pass: up to `limit` rows; returns how many were attempted. */
  async dispatchDue(limit = 50): Promise<number> {
    let handled = 0;
    while (handled < limit && (await this.dispatchOne())) handled++;
    return handled;
  }

  /** Dispatches until nothing is due right now (tests, advance-time). */
  async drain(): Promise<void> {
    while ((await this.dispatchDue()) > 0) {}
  }

  /** Starts the background loop. */
  start(): void {
    this.loop.start();
  }

  /** Stops the loop and waits for the pass in progress. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
