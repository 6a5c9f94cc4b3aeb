/**
 * The emulator's object store: named collections of JSON objects, newest first. Objects go in and come
 * out as deep copies, so a handler can never change stored state by accident; `onChange` lets the
 * persistence layer know something must be written.
 */

/** Anything the store holds: a Stripe-shaped object with an id. */
export interface StoredObject {
  id: string;
  object?: string;
  created?: number;
}

interface Entry {
  /** Insertion order; breaks ties between objects created in the same second. */
  seq: number;
  obj: StoredObject;
  deleted: boolean;
}

/** The persisted form of a store. */
export interface StoreSnapshot {
  seq: number;
  collections: Record<string, Entry[]>;
}

/** Typed access to one collection. */
export class Collection<T extends StoredObject> {
  constructor(
    private readonly store: Store,
    readonly name: string,
  ) {}
  /** The object (or its deleted tombstone), or undefined. */
  get(id: string): T | undefined {
    return this.store.get(this.name, id) as T | undefined;
  }
  /** Adds a new object. */
  insert(obj: T): T {
    return this.store.insert(this.name, obj) as T;
  }
  /** Replaces an existing object (keeps its position in lists). */
  replace(obj: T): T {
    return this.store.replace(this.name, obj) as T;
  }
  /** Replaces the object by a tombstone (`{id, object, deleted: true}`); lists skip it from then on. */
  markDeleted(id: string, tombstone: StoredObject): void {
    this.store.markDeleted(this.name, id, tombstone);
  }
  /** Whether the id exists and is not deleted. */
  isLive(id: string): boolean {
    return this.store.isLive(this.name, id);
  }
  /**
   * Live objects, newest first; `where` filters before the copies are made (it sees the stored
   * object and must not change it).
   */
  list(where?: (obj: T) => boolean): T[] {
    return this.store.list(this.name, where as ((obj: StoredObject) => boolean) | undefined) as T[];
  }
}

/** All collections of one emulator. */
export class Store {
  private collections = new Map<string, Map<string, Entry>>();
  private seq = 0;

  constructor(private readonly onChange: () => void = () => {}) {}

  collection<T extends StoredObject>(name: string): Collection<T> {
    return new Collection<T>(this, name);
  }

  private map(name: string): Map<string, Entry> {
    let m = this.collections.get(name);
    if (!m) {
      m = new Map();
      this.collections.set(name, m);
    }
    return m;
  }

  get(name: string, id: string): StoredObject | undefined {
    const e = this.collections.get(name)?.get(id);
    return e ? structuredClone(e.obj) : undefined;
  }

  isLive(name: string, id: string): boolean {
    const e = this.collections.get(name)?.get(id);
    return !!e && !e.deleted;
  }

  insert(name: string, obj: StoredObject): StoredObject {
    const m = this.map(name);
    if (m.has(obj.id)) throw new Error(`duplicate id ${obj.id} in ${name}`);
    m.set(obj.id, { seq: ++this.seq, obj: structuredClone(obj), deleted: false });
    this.onChange();
    return structuredClone(obj);
  }

  replace(name: string, obj: StoredObject): StoredObject {
    const e = this.map(name).get(obj.id);
    if (!e) throw new Error(`no ${name} ${obj.id} to replace`);
    e.obj = structuredClone(obj);
    this.onChange();
    return structuredClone(obj);
  }

  markDeleted(name: string, id: string, tombstone: StoredObject): void {
    const e = this.map(name).get(id);
    if (!e) throw new Error(`no ${name} ${id} to delete`);
    e.obj = structuredClone(tombstone);
    e.deleted = true;
    this.onChange();
  }

  /** Live objects, newest first (by `created`, then by insertion). */
  list(name: string, where?: (obj: StoredObject) => boolean): StoredObject[] {
    const m = this.collections.get(name);
    if (!m) return [];
    return [...m.values()]
      .filter((e) => !e.deleted && (!where || where(e.obj)))
      .sort((a, b) => (b.obj.created ?? 0) - (a.obj.created ?? 0) || b.seq - a.seq)
      .map((e) => structuredClone(e.obj));
  }

  /** Position of an object in newest-first order, for list cursors (deleted objects keep theirs). */
  sortKey(name: string, id: string): { created: number; seq: number } | undefined {
    const e = this.collections.get(name)?.get(id);
    return e ? { created: e.obj.created ?? 0, seq: e.seq } : undefined;
  }

  /** Like `sortKey` for an object already read from the store. */
  seqOf(name: string, id: string): number {
    return this.collections.get(name)?.get(id)?.seq ?? 0;
  }

  snapshot(): StoreSnapshot {
    const collections: Record<string, Entry[]> = {};
    for (const [name, m] of this.collections) collections[name] = [...m.values()];
    return { seq: this.seq, collections };
  }

  restore(snap: StoreSnapshot | undefined): void {
    this.collections.clear();
    this.seq = snap?.seq ?? 0;
    for (const [name, entries] of Object.entries(snap?.collections ?? {})) {
      this.collections.set(name, new Map(entries.map((e) => [e.obj.id, e])));
    }
  }
}
