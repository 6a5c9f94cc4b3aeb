import type { FastifyReply } from 'fastify';
import type { Cache } from './cache.ts';

/** Reads through the cache and sets `x-cache: hit | miss | stale` on the reply. */
export async function cachedRead<T>(
  cache: Cache,
  reply: FastifyReply,
  request: { key: readonly string[]; ttlMs: number; tags: readonly string[]; load: () => Promise<T> },
): Promise<T> {
  const { value, status } = await cache.get(request);
  reply.header('x-cache', status);
  return value;
}

/** The seed's cache TTLs. */
export const TTL = { fiveMinutes: 5 * 60_000, oneMinute: 60_000 } as const;
