/**
 * Read-through cache for the GET endpoints.
 *
 * - Single-flight is per instance: concurrent gets of one key share one load and all report
 *   'miss'. With Redis, N instances may each load a cold key once; that is accepted.
 * - Freshness and the stale window are judged by the injected clock against times stored in the
 *   entry; the real-time TTL in Redis / lru-cache (ttl + staleWindow) only frees memory.
 * - Invalidation: every tag has a version token; an entry remembers the tokens it was loaded
 *   under and is current only while they are. `invalidateTags` drops the tokens, and a store is
 *   a compare-and-set on them, so neither an old entry nor a load that started before the
 *   invalidation is ever served as a hit afterwards (an invalidated entry may still serve as
 *   'stale' when the reload fails).
 * - Redis layout, under `keyPrefix`: `e:<key>` holds the JSON record, `t:<tag>` its token.
 *   A single Redis (not Cluster): the scripts touch several keys without hash tags.
 * - When Redis fails, gets call the loader without storing, invalidations are queued and retried,
 *   and a warning is logged (at most every 10 s); requests never fail because of the cache.
 */
import { encodeKey, normalizeTags } from './cache/key.ts';
import { MemoryEntryStore } from './cache/memory-store.ts';
import { RedisEntryStore } from './cache/redis-store.ts';
import {
  type CacheRecord,
  type EntryStore,
  parseRecord,
  type StoreSnapshot,
  serializeRecord,
} from './cache/store.ts';
import { type Clock, SystemClock } from './clock.ts';

export { encodeKey } from './cache/key.ts';

/** How a value was served; routes copy it into the `x-cache` header. */
export type CacheStatus = 'hit' | 'miss' | 'stale';

/** The slice of a pino logger the cache uses. */
export interface CacheLogger {
  warn(obj: object, msg: string): void;
}

/** Options for {@link createCache}. */
export interface CacheOptions {
  /** Shares entries and invalidations through this Redis; in-process only when absent. */
  redisUrl?: string;
  /** Decides freshness; inject a ManualClock in tests. Defaults to the system clock. */
  clock?: Clock;
  /** How long past its TTL an entry may still be served when its loader fails. Default 24 h. */
  staleWindowMs?: number;
  /** Upper bound of entries held in process (in-memory backend). Default 10 000. */
  maxEntries?: number;
  /** Prefix of every Redis key. Default 'morelo-payments:cache:'. */
  keyPrefix?: string;
  /** Receives warnings about backend failures and loaders failing behind a stale value. */
  log?: CacheLogger;
  /** How long to wait for a Redis connection. Default 1 000 ms. */
  redisConnectTimeoutMs?: number;
  /** How long a Redis command may take before the cache gives up on it. Default 500 ms. */
  redisCommandTimeoutMs?: number;
}

/** One read-through lookup. */
export interface CacheGetRequest<T> {
  /** Key parts, tenant included; escaped so that different lists never collide. */
  key: readonly string[];
  /** How long a loaded value is served as a hit. */
  ttlMs: number;
  /** Tags whose invalidation makes this entry load again. */
  tags?: readonly string[];
  /** Produces the value on a miss. It must be JSON: callers receive it after a JSON round trip. */
  load: () => Promise<T>;
}

/** A value and how it was served. */
export interface CacheResult<T> {
  value: T;
  status: CacheStatus;
}

/** Counters since creation, for tests and benchmarks. */
export interface CacheStats {
  /** Gets answered from a fresh entry. */
  hits: number;
  /** Gets answered by a load (their own or one they joined). */
  misses: number;
  /** Gets answered with an out-of-date value because the load failed. */
  stale: number;
  /** Calls of a `load` function. */
  loads: number;
  /** Backend (Redis) operations that failed and were bypassed. */
  backendErrors: number;
}

/** A read-through cache with single-flight loading, stale-if-error and tag invalidation. */
export interface Cache {
  /**
   * Returns the cached value while fresh ('hit'); otherwise loads it. Concurrent gets of one key
   * on one instance share a single load, and all of them report 'miss'. When the load fails and
   * an entry is at most `staleWindowMs` past its TTL (or was invalidated), that entry is returned
   * as 'stale'; without one the loader's error is rethrown as is.
   */
  get<T>(request: CacheGetRequest<T>): Promise<CacheResult<T>>;
  /** Once this resolves, every get of an entry carrying one of these tags loads again. */
  invalidateTags(tags: readonly string[]): Promise<void>;
  /** A snapshot of the counters. */
  stats(): CacheStats;
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

const DEFAULT_STALE_WINDOW_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_KEY_PREFIX = 'morelo-payments:cache:';
// A dead Redis would otherwise log once per request.
const BACKEND_WARNING_INTERVAL_MS = 10_000;

const consoleLogger: CacheLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
};

/** Creates the cache: in process, or shared through Redis when `redisUrl` is given. */
export function createCache(options: CacheOptions = {}): Cache {
  const log = options.log ?? consoleLogger;
  const store: EntryStore = options.redisUrl
    ? new RedisEntryStore({
        url: options.redisUrl,
        keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
        log,
        connectTimeoutMs: options.redisConnectTimeoutMs ?? 1_000,
        commandTimeoutMs: options.redisCommandTimeoutMs ?? 500,
      })
    : new MemoryEntryStore(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  return new ReadThroughCache(store, options.clock ?? new SystemClock(), log, options.staleWindowMs);
}

/** A load in progress that later gets of the same key may share. */
interface Flight {
  /** Which tag versions the load runs under; only gets that read the same versions may join. */
  id: string;
  /** The serialized record the load produced. */
  result: Promise<string>;
  staleWarningLogged: boolean;
}

class ReadThroughCache implements Cache {
  private readonly staleWindowMs: number;
  private readonly flights = new Map<string, Flight>();
  private readonly counts: CacheStats = { hits: 0, misses: 0, stale: 0, loads: 0, backendErrors: 0 };
  // Stands in for tag versions when the backend could not be read (see joinOrStart).
  private localInvalidations = 0;
  private lastBackendWarningAt = Number.NEGATIVE_INFINITY;
  private suppressedBackendWarnings = 0;

  constructor(
    private readonly store: EntryStore,
    private readonly clock: Clock,
    private readonly log: CacheLogger,
    staleWindowMs = DEFAULT_STALE_WINDOW_MS,
  ) {
    if (!Number.isFinite(staleWindowMs) || staleWindowMs < 0) {
      throw new RangeError(`staleWindowMs must be a non-negative number, got ${staleWindowMs}`);
    }
    this.staleWindowMs = staleWindowMs;
  }

  async get<T>(request: CacheGetRequest<T>): Promise<CacheResult<T>> {
    if (!Number.isFinite(request.ttlMs) || request.ttlMs <= 0) {
      throw new RangeError(`ttlMs must be a positive number, got ${request.ttlMs}`);
    }
    const key = encodeKey(request.key);
    const tags = normalizeTags(request.tags ?? []);
    const lifetimeMs = request.ttlMs + this.staleWindowMs;

    const snapshot = await this.readSnapshot(key, tags, lifetimeMs);
    const cached = snapshot?.record === undefined ? undefined : parseRecord(snapshot.record);
    if (cached && snapshot && isCurrent(cached, tags, snapshot.versions)) {
      if (this.clock.now() < cached.freshUntil) {
        this.counts.hits++;
        return { value: cached.value as T, status: 'hit' };
      }
    }

    const flight = this.joinOrStart(key, tags, snapshot, request, lifetimeMs);
    try {
      const record = await flight.result;
      this.counts.misses++;
      // Each caller parses its own copy, so no caller can mutate what another receives.
      return { value: (parseRecord(record) as CacheRecord).value as T, status: 'miss' };
    } catch (err) {
      if (cached && this.clock.now() < cached.staleUntil) {
        this.counts.stale++;
        if (!flight.staleWarningLogged) {
          flight.staleWarningLogged = true;
          this.log.warn({ err, key }, 'cache loader failed; serving the previous value as stale');
        }
        return { value: cached.value as T, status: 'stale' };
      }
      throw err;
    }
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    const normalized = normalizeTags(tags);
    if (normalized.length === 0) return;
    this.localInvalidations++;
    try {
      await this.store.invalidate(normalized);
    } catch (err) {
      this.backendFailed(err, 'invalidate');
    }
  }

  stats(): CacheStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private async readSnapshot(
    key: string,
    tags: readonly string[],
    lifetimeMs: number,
  ): Promise<StoreSnapshot | undefined> {
    try {
      return await this.store.read(key, tags, lifetimeMs);
    } catch (err) {
      this.backendFailed(err, 'read');
      return undefined;
    }
  }

  /**
   * Joins the running load of this key only if it runs under the tag versions this get just
   * read. A get that follows an invalidation reads new versions, so it never receives the
   * result of a load that started before the invalidation.
   */
  private joinOrStart<T>(
    key: string,
    tags: readonly string[],
    snapshot: StoreSnapshot | undefined,
    request: CacheGetRequest<T>,
    lifetimeMs: number,
  ): Flight {
    // Without a snapshot (backend down) nothing is stored; local invalidations still separate
    // loads so that this instance at least reads its own writes.
    const id = snapshot
      ? `${tags.join('\n')}\u0000${snapshot.versions.join('\n')}`
      : `unread\u0000${this.localInvalidations}`;
    const running = this.flights.get(key);
    if (running && running.id === id) return running;

    const flight: Flight = { id, result: Promise.resolve(''), staleWarningLogged: false };
    flight.result = this.load(key, tags, snapshot, request, lifetimeMs).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight;
  }

  /** Runs the loader and stores its result; resolves only after the store, so a following get hits. */
  private async load<T>(
    key: string,
    tags: readonly string[],
    snapshot: StoreSnapshot | undefined,
    request: CacheGetRequest<T>,
    lifetimeMs: number,
  ): Promise<string> {
    // Freshness counts from the start of the load: the data is as old as the moment it was read.
    const startedAt = this.clock.now();
    this.counts.loads++;
    const value = await request.load();
    const versions = snapshot?.versions ?? [];
    const record = serializeRecord({
      freshUntil: startedAt + request.ttlMs,
      staleUntil: startedAt + lifetimeMs,
      tags: [...tags],
      versions,
      value,
    });
    if (snapshot) {
      try {
        // A false result means an invalidation overtook this load: its value goes to the
        // callers that asked before the invalidation but is not kept.
        await this.store.write(key, record, tags, versions, lifetimeMs);
      } catch (err) {
        this.backendFailed(err, 'write');
      }
    }
    return record;
  }

  private backendFailed(err: unknown, operation: string): void {
    this.counts.backendErrors++;
    const now = this.clock.now();
    if (now - this.lastBackendWarningAt < BACKEND_WARNING_INTERVAL_MS) {
      this.suppressedBackendWarnings++;
      return;
    }
    this.log.warn(
      { err, operation, suppressedSinceLastWarning: this.suppressedBackendWarnings },
      'cache backend failed; calling the loader directly',
    );
    this.lastBackendWarningAt = now;
    this.suppressedBackendWarnings = 0;
  }
}

/** True when the record was loaded under exactly these tags at their current versions. */
function isCurrent(record: CacheRecord, tags: readonly string[], versions: readonly string[]): boolean {
  return (
    record.tags.length === tags.length &&
    record.tags.every((tag, i) => tag === tags[i]) &&
    record.versions.every((version, i) => version === versions[i])
  );
}
