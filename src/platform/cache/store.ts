/**
 * What the read-through cache needs from a backend (in-process LRU or Redis).
 *
 * Tag versions are opaque tokens that are never reused. A tag without a token gets a fresh one
 * on read, and invalidation deletes the token. So a lost token (evicted, expired, flushed) can
 * only make entries look out of date, never make an invalidated entry look current again.
 */
export interface EntryStore {
  /** The stored record for `key` (if any) and the current version token of each tag, in order. */
  read(key: string, tags: readonly string[], tagLifetimeMs: number): Promise<StoreSnapshot>;
  /**
   * Stores `record` for `lifetimeMs` unless a tag's token has changed since `versions` were
   * read; the compare and the write are one step, so an invalidation cannot slip in between.
   * Resolves true when stored.
   */
  write(
    key: string,
    record: string,
    tags: readonly string[],
    versions: readonly string[],
    lifetimeMs: number,
  ): Promise<boolean>;
  /** Drops the tokens of these tags, which makes every entry read under them out of date. */
  invalidate(tags: readonly string[]): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** One read: the serialized record, if present, and the tag tokens that are current now. */
export interface StoreSnapshot {
  record: string | undefined;
  versions: string[];
}

/** A cached value with the times (by the injected clock) and tag versions it was loaded under. */
export interface CacheRecord {
  /** Served as a hit while clock.now() is before this. */
  freshUntil: number;
  /** May be served as stale, when the loader fails, while clock.now() is before this. */
  staleUntil: number;
  tags: string[];
  versions: string[];
  value: unknown;
}

/** Serializes a record; throws TypeError for values JSON cannot hold (BigInt, cycles). */
export function serializeRecord(record: CacheRecord): string {
  return JSON.stringify(record);
}

/** Parses a stored record; undefined for anything that is not one (e.g. written by another version). */
export function parseRecord(text: string): CacheRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<CacheRecord> | null;
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.freshUntil !== 'number' ||
      typeof r.staleUntil !== 'number' ||
      !Array.isArray(r.tags) ||
      !Array.isArray(r.versions)
    ) {
      return undefined;
    }
    return r as CacheRecord;
  } catch {
    return undefined;
  }
}
