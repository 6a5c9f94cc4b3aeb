/**
 * Works off the webhook inbox. Any number of instances may run it: rows are claimed with
 * FOR UPDATE SKIP LOCKED, and an event's effects commit in the same transaction that marks it succeeded,
 * so a crash either leaves nothing applied (the row is retried) or everything (the row is done).
 */
import { and, asc, eq, inArray, lte, or, sql } from 'drizzle-orm';
import type { ServiceDeps } from '../platform/deps.ts';
import { PollLoop } from '../platform/poll-loop.ts';
import type { HandlerTable } from './handlers.ts';
import { type InboxRow, webhookInbox } from './schema.ts';

/** After this many failed attempts an event is `failed` and waits for an admin replay. */
export const MAX_ATTEMPTS = 8;
/** How long a claim holds before another instance may take the event over (a crashed worker). */
const CLAIM_MS = 60_000;

/** Backoff before attempt n+1: 1 s, 4 s, 16 s … capped at 15 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 4 ** Math.max(0, attempts - 1), 15 * 60_000);
}

/** Runs the inbox; `processDue` is one pass, `start` a loop, `drain` until nothing is due. */
export class InboxProcessor {
  private readonly inFlight = new Set<Promise<number>>();

  private readonly loop: PollLoop;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly handlers: HandlerTable,
    pollMs = 250,
  ) {
    this.loop = new PollLoop(
      () => this.processDue(),
      (err) => deps.log.error({ err }, 'webhook inbox pass failed'),
      pollMs,
    );
  }

  /** Claims due events (new, retry due, or abandoned by a crashed worker). */
  private async claim(limit: number): Promise<InboxRow[]> {
    const now = new Date(this.deps.clock.now());
    const due = this.deps.db
      .select({ id: webhookInbox.eventId })
      .from(webhookInbox)
      .where(
        or(
          and(eq(webhookInbox.status, 'pending'), lte(webhookInbox.nextAttemptAt, now)),
          and(eq(webhookInbox.status, 'processing'), lte(webhookInbox.lockedUntil, now)),
        ),
      )
      .orderBy(asc(webhookInbox.created), asc(webhookInbox.receivedAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    return this.deps.db
      .update(webhookInbox)
      .set({
        status: 'processing',
        lockedUntil: new Date(now.getTime() + CLAIM_MS),
        attempts: sql`${webhookInbox.attempts} + 1`,
      })
      .where(inArray(webhookInbox.eventId, due))
      .returning();
  }

  /** Applies one claimed event; never throws (failures are recorded on the row). */
  private async apply(row: InboxRow): Promise<void> {
    const handler = this.handlers[row.payload.type];
    const tags: string[] = [];
    try {
      await this.deps.db.transaction(async (tx) => {
        // Still ours? Another instance may have taken it over after our claim expired.
        const [mine] = await tx
          .select({ attempts: webhookInbox.attempts, status: webhookInbox.status })
          .from(webhookInbox)
          .where(eq(webhookInbox.eventId, row.eventId))
          .for('update');
        if (mine?.status !== 'processing' || mine.attempts !== row.attempts) return;
        if (handler) {
          await handler(
            { tx: tx as never, deps: this.deps, invalidate: (t) => tags.push(...t) },
            row.payload,
          );
        }
        await tx
          .update(webhookInbox)
          .set({
            status: 'succeeded',
            processedAt: new Date(this.deps.clock.now()),
            lockedUntil: null,
            lastError: null,
          })
          .where(eq(webhookInbox.eventId, row.eventId));
      });
      if (tags.length > 0) await this.deps.cache.invalidateTags([...new Set(tags)]);
    } catch (err) {
      const message = (err as Error).message?.slice(0, 1000) ?? String(err);
      const failed = row.attempts >= MAX_ATTEMPTS;
      this.deps.log.warn(
        { eventId: row.eventId, type: row.type, attempts: row.attempts, err },
        failed ? 'webhook event failed for good; an admin can replay it' : 'webhook event failed; will retry',
      );
      await this.deps.db
        .update(webhookInbox)
        .set({
          status: failed ? 'failed' : 'pending',
          lastError: message,
          lockedUntil: null,
          nextAttemptAt: new Date(this.deps.clock.now() + retryDelayMs(row.attempts)),
        })
        .where(and(eq(webhookInbox.eventId, row.eventId), eq(webhookInbox.attempts, row.attempts)));
    }
  }

  /** One pass: claims and applies up to `limit` due events; returns how many were handled. */
  async processDue(limit = 50): Promise<number> {
    const pass = (async () => {
      const rows = await this.claim(limit);
      for (const row of rows) await this.apply(row);
      return rows.length;
    })();
    this.inFlight.add(pass);
    try {
      return await pass;
    } finally {
      this.inFlight.delete(pass);
    }
  }

  /**
   * Processes until nothing is due right now (tests, advance-time). Also waits for passes this instance's loop has
   * under way, so a caller never reads state an already-claimed event is about to change.
   */
  async drain(): Promise<void> {
    for (;;) {
      await Promise.allSettled([...this.inFlight]);
      const handled = await this.processDue();
      if (handled === 0 && this.inFlight.size === 0) return;
    }
  }

  /** Starts the background loop. */
  start(): void {
    this.loop.start();
  }

  /** Wakes the loop at once (new work was just stored), so changes show within a second. */
  notify(): void {
    this.loop.notify();
  }

  /** Stops the loop and waits for the pass in progress. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
