import type Stripe from 'stripe';
import type { Db } from '../platform/db/index.ts';
import type { ServiceDeps } from '../platform/deps.ts';

/** What an event handler may use: the transaction its effects commit in, and after-commit work. */
export interface HandlerContext {
  /** The transaction the inbox row is marked succeeded in; write every effect through it. */
  tx: Db;
  deps: ServiceDeps;
  /** Cache tags to invalidate once the transaction has committed. */
  invalidate(tags: string[]): void;
}

/** Applies one event. Must be safe to run again after a crash (effects keyed by source, state only forward). */
export type EventHandler = (ctx: HandlerContext, event: Stripe.Event) => Promise<unknown>;

/** Event type → handler. Types without a handler are stored and acknowledged, never failed. */
export type HandlerTable = Partial<Record<Stripe.Event.Type, EventHandler>>;

/** Joins the tables of several capabilities; two handlers for one type run in order. */
export function mergeHandlerTables(...tables: HandlerTable[]): HandlerTable {
  const merged: HandlerTable = {};
  for (const table of tables) {
    for (const [type, handler] of Object.entries(table) as [Stripe.Event.Type, EventHandler][]) {
      const existing = merged[type];
      merged[type] = existing
        ? async (ctx, event) => {
            await existing(ctx, event);
            await handler(ctx, event);
          }
        : handler;
    }
  }
  return merged;
}
