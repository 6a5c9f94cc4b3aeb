/**
 * `Idempotency-Key` on our own POSTs (the contract): a retry with the same key and body replays the first
 * response; the same key with another body is 422; the same key while the first is still running is 409.
 * Keys are per caller scope and kept 24 hours.
 */
import { createHash } from 'node:crypto';
import { and, eq, lt, sql } from 'drizzle-orm';
import { integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from './clock.ts';
import type { Db } from './db/index.ts';
import { ConflictError, UnprocessableError, ValidationError } from './errors.ts';

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    state: text('state', { enum: ['running', 'done'] }).notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] })],
);

const KEEP_MS = 24 * 60 * 60 * 1000;
/**
 * How long a running request holds its key. A process that dies mid-request leaves the key 'running'; after the
 * lease a retry takes it over instead of getting 409 for a day (the work it redoes is keyed at Stripe by our ids).
 */
const LEASE_MS = 2 * 60 * 1000;

/** JSON with object keys sorted, so the same fields in another order are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The caller's Idempotency-Key, scoped to its API key, for services that resume work keyed by it; else null. */
export function requestKeyOf(request: FastifyRequest): string | null {
  const claim = request.idempotency;
  return claim ? `${claim.scope}:${claim.key}` : null;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { scope: string; key: string };
  }
}

/** The fingerprint of a request: method, path and body. */
export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${url}\n${canonicalJson(body)}`)
    .digest('hex');
}

/** Installs the hooks; only authenticated POSTs under /api/ that carry the header take part. */
export function installIdempotency(app: FastifyInstance, db: Db, clock: Clock): void {
  app.addHook('preHandler', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || !request.url.startsWith('/api/') || key === undefined) return;
    if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
      throw new ValidationError('Idempotency-Key must be 1–255 characters.', [
        { field: 'headers.idempotency-key', message: 'invalid' },
      ]);
    }
    const scope = `key:${request.apiKeyId}`;
    const hash = requestHash(request.method, request.url, request.body);
    const now = new Date(clock.now());
    // Expired keys may be reused: drop this one's old row first.
    await db
      .delete(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.scope, scope),
          eq(idempotencyKeys.key, key),
          lt(idempotencyKeys.createdAt, new Date(now.getTime() - KEEP_MS)),
        ),
      );
    const inserted = await db
      .insert(idempotencyKeys)
      .values({
        scope,
        key,
        requestHash: hash,
        state: 'running',
        createdAt: now,
        lockedUntil: new Date(now.getTime() + LEASE_MS),
      })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (inserted.length > 0) {
      request.idempotency = { scope, key };
      return;
    }
    const [existing] = await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    if (!existing) throw new ConflictError('Idempotency key is being reset; retry.', 'idempotency_conflict');
    if (existing.requestHash !== hash) {
      throw new UnprocessableError(
        'This Idempotency-Key was used with a different request body.',
        'idempotency_key_reused',
      );
    }
    if (existing.state === 'running') {
      // Abandoned by a crashed request: take it over (one taker wins the conditional update).
      const taken = await db
        .update(idempotencyKeys)
        .set({ lockedUntil: new Date(now.getTime() + LEASE_MS) })
        .where(
          and(
            eq(idempotencyKeys.scope, scope),
            eq(idempotencyKeys.key, key),
            eq(idempotencyKeys.state, 'running'),
            lt(idempotencyKeys.lockedUntil, now),
          ),
        )
        .returning({ key: idempotencyKeys.key });
      if (taken.length > 0) {
        request.idempotency = { scope, key };
        return;
      }
      throw new ConflictError(
        'A request with this Idempotency-Key is still being processed.',
        'idempotency_conflict',
      );
    }
    reply.header('idempotent-replayed', 'true');
    return reply.code(existing.responseStatus ?? 200).send(existing.responseBody);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = undefined;
    const where = and(eq(idempotencyKeys.scope, claim.scope), eq(idempotencyKeys.key, claim.key));
    if (reply.statusCode >= 500) {
      // A server failure is not an answer to replay: let the retry run again (Stripe calls are idempotent).
      await db.delete(idempotencyKeys).where(where);
      return payload;
    }
    let body: unknown = null;
    if (typeof payload === 'string' && payload.length > 0) {
      try {
        body = JSON.parse(payload);
      } catch {
        body = payload;
      }
    }
    await db
      .update(idempotencyKeys)
      .set({
        state: 'done',
        responseStatus: reply.statusCode,
        responseBody: sql`${JSON.stringify(body)}::jsonb`,
      })
      .where(where);
    return payload;
  });
}
