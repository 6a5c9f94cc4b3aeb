import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CacheLogger } from '../cache.ts';
import type { EntryStore, StoreSnapshot } from './store.ts';

// KEYS[1] = record, KEYS[2..] = tags; ARGV[1] = token for tags that have none, ARGV[2] = its PX.
// Returns the record ('' when absent: a Lua false would arrive as null or as a RESP3 boolean)
// followed by one token per tag. Missing tokens are created here, atomically, so every
// instance reading the same tag at the same time gets the same token.
const READ_SCRIPT = `
local out = { redis.call('GET', KEYS[1]) or '' }
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if not v then
    v = ARGV[1]
    redis.call('SET', KEYS[i], v, 'PX', ARGV[2])
  end
  out[i] = v
end
return out
`;

// KEYS[1] = record, KEYS[2..] = tags; ARGV[1] = record, ARGV[2] = PX, ARGV[3..] = expected tokens.
// Compare-and-set: a load that began before an invalidation must not land as current.
// Tag tokens are kept alive at least as long as the record that depends on them, so a token
// never expires under a live record (which would only cost a reload, but needlessly).
const WRITE_SCRIPT = `
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[i + 1] then return 0 end
end
local px = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
for i = 2, #KEYS do
  if redis.call('PTTL', KEYS[i]) < px then redis.call('PEXPIRE', KEYS[i], px) end
end
return 1
`;

interface CacheScripts {
  cacheRead(numKeys: number, ...keysThenArgs: (string | number)[]): Promise<unknown>;
  cacheWrite(numKeys: number, ...keysThenArgs: (string | number)[]): Promise<unknown>;
}

/** Connection settings for {@link RedisEntryStore}. */
export interface RedisEntryStoreOptions {
  url: string;
  keyPrefix: string;
  log: CacheLogger;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/**
 * The shared backend: records and tag tokens live in Redis, so every service instance sees the
 * same entries and the same invalidations. While the connection is down, calls fail at once
 * (no queueing behind a dead socket) and the cache falls back to its loaders.
 */
export class RedisEntryStore implements EntryStore {
  private readonly client: Redis & CacheScripts;
  private readonly prefix: string;
  private readonly log: CacheLogger;
  // 'starting' lets the first commands wait in ioredis' offline queue (bounded by the command
  // timeout) so a cache used right after creation is not bypassed; once a connection has
  // failed, commands fail fast until it is ready again.
  private state: 'starting' | 'up' | 'down' | 'closed' = 'starting';
  // Invalidations that could not reach Redis; retried before the next read and on reconnect,
  // because dropping them would let entries from before a write be served as hits afterwards.
  private readonly pendingInvalidations = new Set<string>();

  constructor(options: RedisEntryStoreOptions) {
    this.prefix = options.keyPrefix;
    this.log = options.log;
    this.client = new Redis(options.url, {
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      scripts: {
        cacheRead: { lua: READ_SCRIPT },
        cacheWrite: { lua: WRITE_SCRIPT },
      },
    }) as Redis & CacheScripts;
    this.client.on('ready', () => {
      if (this.state === 'closed') return;
      this.state = 'up';
      this.flushPendingInvalidations().catch((err: unknown) => {
        this.log.warn({ err }, 'redis cache: retrying invalidations after reconnect failed');
      });
    });
    // Without an 'error' listener ioredis reports every failed reconnect as unhandled.
    this.client.on('error', (err: unknown) => this.markDown(err));
    this.client.on('close', () => this.markDown(undefined));
  }

  async read(key: string, tags: readonly string[], tagLifetimeMs: number): Promise<StoreSnapshot> {
    this.assertUsable();
    if (this.pendingInvalidations.size > 0) await this.flushPendingInvalidations();
    const newToken = randomBytes(12).toString('base64url');
    const reply = await this.client.cacheRead(
      1 + tags.length,
      this.recordKey(key),
      ...tags.map((tag) => this.tagKey(tag)),
      newToken,
      Math.max(1, Math.ceil(tagLifetimeMs)),
    );
    if (!Array.isArray(reply) || reply.length !== 1 + tags.length) {
      throw new Error('redis cache: unexpected reply to the read script');
    }
    const [record, ...versions] = reply.map(String);
    return { record: record === '' || record === undefined ? undefined : record, versions };
  }

  async write(
    key: string,
    record: string,
    tags: readonly string[],
    versions: readonly string[],
    lifetimeMs: number,
  ): Promise<boolean> {
    this.assertUsable();
    const stored = await this.client.cacheWrite(
      1 + tags.length,
      this.recordKey(key),
      ...tags.map((tag) => this.tagKey(tag)),
      record,
      Math.max(1, Math.ceil(lifetimeMs)),
      ...versions,
    );
    return Number(stored) === 1;
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    for (const tag of tags) this.pendingInvalidations.add(tag);
    this.assertUsable();
    await this.flushPendingInvalidations();
  }

  async close(): Promise<void> {
    const wasUp = this.state === 'up';
    this.state = 'closed';
    if (wasUp) {
      try {
        await this.client.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.client.disconnect();
  }

  private async flushPendingInvalidations(): Promise<void> {
    const tags = [...this.pendingInvalidations];
    if (tags.length === 0) return;
    await this.client.del(...tags.map((tag) => this.tagKey(tag)));
    // Only the ones sent: tags added while DEL was in flight stay pending.
    for (const tag of tags) this.pendingInvalidations.delete(tag);
  }

  private assertUsable(): void {
    if (this.state === 'down') throw new Error('redis cache is unavailable (reconnecting)');
    if (this.state === 'closed') throw new Error('redis cache is closed');
  }

  private markDown(err: unknown): void {
    if (this.state === 'down' || this.state === 'closed') return;
    this.state = 'down';
    this.log.warn({ err }, 'redis cache connection lost; loaders are called directly until it is back');
  }

  private recordKey(key: string): string {
    return `${this.prefix}e:${key}`;
  }

  private tagKey(tag: string): string {
    return `${this.prefix}t:${tag}`;
  }
}
