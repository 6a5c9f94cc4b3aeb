import { LRUCache } from 'lru-cache';
import type { EntryStore, StoreSnapshot } from './store.ts';

/**
 * The in-process backend. lru-cache bounds memory and drops records after ttl + stale window
 * (in real time); whether a record is fresh is decided by the caller with the injected clock.
 */
export class MemoryEntryStore implements EntryStore {
  private readonly records: LRUCache<string, string>;
  // Bounded too: a forgotten token only costs a reload, never a wrong hit (see EntryStore).
  private readonly tagVersions: LRUCache<string, string>;
  private nextVersion = 0;

  constructor(maxEntries: number) {
    this.records = new LRUCache({ max: maxEntries });
    this.tagVersions = new LRUCache({ max: Math.max(1_000, maxEntries * 2) });
  }

  async read(key: string, tags: readonly string[]): Promise<StoreSnapshot> {
    const versions = tags.map((tag) => {
      const known = this.tagVersions.get(tag);
      if (known !== undefined) return known;
      const fresh = String(++this.nextVersion);
      this.tagVersions.set(tag, fresh);
      return fresh;
    });
    return { record: this.records.get(key), versions };
  }

  async write(
    key: string,
    record: string,
    tags: readonly string[],
    versions: readonly string[],
    lifetimeMs: number,
  ): Promise<boolean> {
    const unchanged = tags.every((tag, i) => this.tagVersions.get(tag) === versions[i]);
    if (!unchanged) return false;
    this.records.set(key, record, { ttl: lifetimeMs });
    return true;
  }

  async invalidate(tags: readonly string[]): Promise<void> {
    for (const tag of tags) this.tagVersions.delete(tag);
  }

  async close(): Promise<void> {
    this.records.clear();
    this.tagVersions.clear();
  }
}
