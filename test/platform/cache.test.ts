import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Cache, type CacheLogger, type CacheOptions, createCache } from '../../src/platform/cache.ts';
import { ManualClock } from '../../src/platform/clock.ts';

// Test files may read the environment; CI sets this to its Redis.
const redisUrl = process.env.TEST_REDIS_URL;
// One prefix per file so files running in parallel never share keys; removed in afterAll.
const filePrefix = `test:cache:${randomUUID()}:`;

interface Backend {
  name: string;
  /** True when two caches made from it share entries (Redis). */
  shared: boolean;
  make(options: Omit<CacheOptions, 'redisUrl' | 'keyPrefix'>, prefix: string): Cache;
}

const backends: Backend[] = [{ name: 'memory', shared: false, make: (options) => createCache(options) }];
if (redisUrl) {
  backends.push({
    name: 'redis',
    shared: true,
    make: (options, prefix) => createCache({ ...options, redisUrl, keyPrefix: prefix }),
  });
}

const T0 = Date.UTC(2026, 5, 1, 8, 0, 0);
const FIVE_MIN = 300_000;
const DAY = 86_400_000;

const open: Cache[] = [];
let testNo = 0;

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  if (!redisUrl) return;
  const redis = new Redis(redisUrl);
  const stream = redis.scanStream({ match: `${filePrefix}*`, count: 500 });
  for await (const keys of stream as AsyncIterable<string[]>) {
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A loader that counts calls and returns whatever the test queues next. */
function scriptedLoader<T>(...results: (T | Error)[]) {
  let calls = 0;
  const load = async (): Promise<T> => {
    const next = results[Math.min(calls, results.length - 1)];
    calls++;
    if (next instanceof Error) throw next;
    return next as T;
  };
  return {
    load,
    get calls() {
      return calls;
    },
  };
}

function capturingLog() {
  const warnings: { obj: object; msg: string }[] = [];
  const log: CacheLogger = { warn: (obj, msg) => warnings.push({ obj, msg }) };
  return { log, warnings };
}

describe.each(backends)('read-through cache ($name)', (backend) => {
  function setup(options: Omit<CacheOptions, 'redisUrl' | 'keyPrefix'> = {}) {
    const clock = new ManualClock(T0);
    const prefix = `${filePrefix}${backend.name}:${++testNo}:`;
    const make = () => {
      const cache = backend.make({ clock, log: capturingLog().log, ...options }, prefix);
      open.push(cache);
      return cache;
    };
    return { clock, cache: make(), make };
  }

  const customersKey = (tenant: string) => ['customers', tenant, 'list', 'limit=20'];
  const customersTag = (tenant: string) => `tenant:${tenant}:customers`;

  it('loads on the first get and serves the stored value as a hit afterwards', async () => {
    const { cache } = setup();
    const loader = scriptedLoader({ data: [{ id: 'cus_1', name: 'Autohaus Weber' }], hasMore: false });
    const request = {
      key: customersKey('d1'),
      ttlMs: FIVE_MIN,
      tags: [customersTag('d1')],
      load: loader.load,
    };

    const first = await cache.get(request);
    const second = await cache.get(request);

    expect(first).toEqual({
      status: 'miss',
      value: { data: [{ id: 'cus_1', name: 'Autohaus Weber' }], hasMore: false },
    });
    expect(second).toEqual({ status: 'hit', value: first.value });
    expect(loader.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, stale: 0, loads: 1 });
  });

  it('hands out copies, so a caller mutating its value does not change what others get', async () => {
    const { cache } = setup();
    const request = {
      key: ['balance', 'admin'],
      ttlMs: FIVE_MIN,
      load: async () => ({ available: [250000] }),
    };

    const miss = await cache.get(request);
    miss.value.available.push(1);
    const hit = await cache.get(request);
    hit.value.available.push(2);

    expect((await cache.get(request)).value).toEqual({ available: [250000] });
  });

  it('returns values as JSON on a miss exactly as on a hit', async () => {
    const { cache } = setup();
    const request = {
      key: ['transactions', 'd1'],
      ttlMs: 60_000,
      load: async () => ({ at: new Date(T0), note: undefined, amount: 100 }),
    };

    const miss = await cache.get(request);
    const hit = await cache.get(request);

    expect(miss.value).toEqual({ at: new Date(T0).toISOString(), amount: 100 });
    expect(hit.value).toEqual(miss.value);
  });

  it('keeps keys of different tenants and differently split parts apart', async () => {
    const { cache } = setup();
    const get = (key: string[]) => cache.get({ key, ttlMs: FIVE_MIN, load: async () => key.join('|') });

    expect((await get(customersKey('d1'))).value).toBe('customers|d1|list|limit=20');
    expect((await get(customersKey('d2'))).value).toBe('customers|d2|list|limit=20');
    expect((await get(['a:b', 'c'])).value).toBe('a:b|c');
    expect((await get(['a', 'b:c'])).value).toBe('a|b:c');
    expect(cache.stats()).toMatchObject({ loads: 4, hits: 0 });
  });

  it('serves a hit until the TTL has passed by the injected clock, then loads again', async () => {
    const { cache, clock } = setup();
    const loader = scriptedLoader('v1', 'v2');
    const request = { key: ['customers', 'd1', 'cus_1'], ttlMs: 60_000, load: loader.load };

    await cache.get(request);
    clock.advance(59_999);
    expect(await cache.get(request)).toEqual({ status: 'hit', value: 'v1' });

    clock.advance(1);
    expect(await cache.get(request)).toEqual({ status: 'miss', value: 'v2' });
    expect(await cache.get(request)).toEqual({ status: 'hit', value: 'v2' });
    expect(loader.calls).toBe(2);
  });

  it('shares one load among 20 concurrent cold gets', async () => {
    const { cache } = setup();
    const gate = deferred<void>();
    const started = deferred<void>();
    let loads = 0;
    const load = async () => {
      loads++;
      started.resolve();
      await gate.promise;
      return { data: ['cus_1'] };
    };

    const gets = Array.from({ length: 20 }, () =>
      cache.get({ key: customersKey('d1'), ttlMs: FIVE_MIN, tags: [customersTag('d1')], load }),
    );
    await started.promise;
    gate.resolve();
    const results = await Promise.all(gets);

    expect(loads).toBe(1);
    for (const r of results) expect(r).toEqual({ status: 'miss', value: { data: ['cus_1'] } });
    expect(cache.stats()).toMatchObject({ loads: 1, misses: 20 });
  });

  it('gives every waiting get the error of a failed shared load when nothing is cached', async () => {
    const { cache } = setup();
    const boom = new Error('stripe is down');
    const gate = deferred<void>();
    const started = deferred<void>();
    let loads = 0;
    const load = async () => {
      loads++;
      started.resolve();
      await gate.promise;
      throw boom;
    };

    const gets = Array.from({ length: 5 }, () =>
      cache.get({ key: ['balance', 'admin'], ttlMs: FIVE_MIN, load }).then(
        () => 'resolved',
        (err: unknown) => err,
      ),
    );
    await started.promise;
    // A failed load is not stored, so a get still reading when it fails would load again. This
    // probe is read after the five (one connection answers in order), so they have all joined.
    await cache.get({ key: ['probe'], ttlMs: FIVE_MIN, load: async () => 'probe' });
    gate.resolve();

    for (const outcome of await Promise.all(gets)) expect(outcome).toBe(boom);
    expect(loads).toBe(1);
  });

  it('serves the old value as stale when the reload fails within the stale window', async () => {
    const { cache, clock } = setup({ staleWindowMs: DAY });
    const boom = new Error('stripe timeout');
    const loader = scriptedLoader<string>('v1', boom, 'v3');
    const request = { key: ['customers', 'd1', 'cus_1'], ttlMs: 60_000, load: loader.load };

    await cache.get(request);
    clock.advance(60_000 + DAY - 1);

    expect(await cache.get(request)).toEqual({ status: 'stale', value: 'v1' });
    expect(await cache.get(request)).toEqual({ status: 'miss', value: 'v3' });
    expect(await cache.get(request)).toEqual({ status: 'hit', value: 'v3' });
    expect(cache.stats()).toMatchObject({ stale: 1, loads: 3 });
  });

  it('rethrows the loader error unchanged once the entry is past the stale window', async () => {
    const { cache, clock } = setup({ staleWindowMs: DAY });
    const boom = new Error('stripe timeout');
    const loader = scriptedLoader<string>('v1', boom);
    const request = { key: ['customers', 'd1', 'cus_1'], ttlMs: 60_000, load: loader.load };

    await cache.get(request);
    clock.advance(60_000 + DAY);

    await expect(cache.get(request)).rejects.toBe(boom);
  });

  it('rethrows the loader error unchanged when nothing is cached', async () => {
    const { cache } = setup();
    const boom = Object.assign(new Error('card_declined'), { code: 'card_declined' });

    await expect(
      cache.get({
        key: ['transactions', 'd1'],
        ttlMs: 60_000,
        load: async () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(cache.stats()).toMatchObject({ loads: 1, stale: 0 });
  });

  it('loads again after invalidateTags, and leaves entries with other tags alone', async () => {
    const { cache } = setup();
    const d1 = scriptedLoader('d1 before', 'd1 after');
    const d2 = scriptedLoader('d2');
    const getD1 = () =>
      cache.get({ key: customersKey('d1'), ttlMs: FIVE_MIN, tags: [customersTag('d1')], load: d1.load });
    const getD2 = () =>
      cache.get({ key: customersKey('d2'), ttlMs: FIVE_MIN, tags: [customersTag('d2')], load: d2.load });
    await getD1();
    await getD2();

    await cache.invalidateTags([customersTag('d1'), 'customer:cus_9']);

    expect(await getD1()).toEqual({ status: 'miss', value: 'd1 after' });
    expect(await getD1()).toEqual({ status: 'hit', value: 'd1 after' });
    expect(await getD2()).toEqual({ status: 'hit', value: 'd2' });
  });

  it('invalidates an entry through any one of its tags', async () => {
    const { cache } = setup();
    const loader = scriptedLoader('before', 'after');
    const get = () =>
      cache.get({
        key: ['customers', 'd1', 'cus_1'],
        ttlMs: 60_000,
        tags: [customersTag('d1'), 'customer:cus_1'],
        load: loader.load,
      });
    await get();

    await cache.invalidateTags(['customer:cus_1']);

    expect(await get()).toEqual({ status: 'miss', value: 'after' });
  });

  it('serves an invalidated entry only as stale, and only when the reload fails', async () => {
    const { cache } = setup();
    const boom = new Error('stripe is down');
    const loader = scriptedLoader<string>('before', boom);
    const get = () =>
      cache.get({ key: customersKey('d1'), ttlMs: FIVE_MIN, tags: [customersTag('d1')], load: loader.load });
    await get();

    await cache.invalidateTags([customersTag('d1')]);

    expect(await get()).toEqual({ status: 'stale', value: 'before' });
    expect(await get()).toEqual({ status: 'stale', value: 'before' });
    expect(loader.calls).toBe(3);
  });

  it('does not keep a load that started before an invalidation and finished after it', async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const started = deferred<void>();
    const loads: string[] = [];
    const get = (load: () => Promise<string>) =>
      cache.get({ key: customersKey('d1'), ttlMs: FIVE_MIN, tags: [customersTag('d1')], load });

    const before = get(async () => {
      loads.push('slow');
      started.resolve();
      return slow.promise;
    });
    await started.promise;
    await cache.invalidateTags([customersTag('d1')]);
    slow.resolve('read before the write');

    // The caller that asked before the write may see the old state; nobody after it may.
    expect(await before).toEqual({ status: 'miss', value: 'read before the write' });
    const after = await get(async () => {
      loads.push('fresh');
      return 'read after the write';
    });
    expect(after).toEqual({ status: 'miss', value: 'read after the write' });
    expect(loads).toEqual(['slow', 'fresh']);
  });

  it('does not let a get after an invalidation join a load that started before it', async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const started = deferred<void>();
    const get = (load: () => Promise<string>) =>
      cache.get({ key: customersKey('d1'), ttlMs: FIVE_MIN, tags: [customersTag('d1')], load });

    const before = get(async () => {
      started.resolve();
      return slow.promise;
    });
    await started.promise;
    await cache.invalidateTags([customersTag('d1')]);
    const after = get(async () => 'read after the write');
    const afterResult = await after;
    slow.resolve('read before the write');
    await before;

    expect(afterResult).toEqual({ status: 'miss', value: 'read after the write' });
    // The late, older load must not have replaced the newer entry.
    expect(await get(async () => 'unexpected load')).toEqual({
      status: 'hit',
      value: 'read after the write',
    });
  });

  it('rejects a key without parts and a TTL that is not positive', async () => {
    const { cache } = setup();
    const load = async () => 1;
    await expect(cache.get({ key: [], ttlMs: 1_000, load })).rejects.toThrow(RangeError);
    await expect(cache.get({ key: ['x'], ttlMs: 0, load })).rejects.toThrow(RangeError);
  });

  if (backend.shared) {
    it('shares entries between two instances', async () => {
      const { cache: a, make } = setup();
      const b = make();
      await a.get({ key: ['balance', 'admin'], ttlMs: FIVE_MIN, load: async () => 'from a' });

      expect(await b.get({ key: ['balance', 'admin'], ttlMs: FIVE_MIN, load: async () => 'from b' })).toEqual(
        {
          status: 'hit',
          value: 'from a',
        },
      );
    });

    it('sees an invalidation made on another instance on the next get', async () => {
      const { cache: a, make } = setup();
      const b = make();
      const loader = scriptedLoader('before', 'after');
      const get = (cache: Cache) =>
        cache.get({
          key: customersKey('d1'),
          ttlMs: FIVE_MIN,
          tags: [customersTag('d1')],
          load: loader.load,
        });
      await get(a);
      expect(await get(b)).toEqual({ status: 'hit', value: 'before' });

      await b.invalidateTags([customersTag('d1')]);

      expect(await get(a)).toEqual({ status: 'miss', value: 'after' });
      expect(await get(b)).toEqual({ status: 'hit', value: 'after' });
    });

    it('decides freshness by the injected clock of the reading instance', async () => {
      const { cache: a, make, clock } = setup();
      const b = make();
      await a.get({ key: ['transactions', 'd1'], ttlMs: 60_000, load: async () => 'first' });
      clock.advance(60_000);

      expect(await b.get({ key: ['transactions', 'd1'], ttlMs: 60_000, load: async () => 'second' })).toEqual(
        {
          status: 'miss',
          value: 'second',
        },
      );
    });
  }
});

describe('cache with an unreachable Redis', () => {
  it('calls the loader and returns its value, logging a warning instead of failing', async () => {
    const { log, warnings } = capturingLog();
    const cache = createCache({
      redisUrl: 'redis://127.0.0.1:1',
      redisConnectTimeoutMs: 200,
      redisCommandTimeoutMs: 200,
      clock: new ManualClock(T0),
      keyPrefix: filePrefix,
      log,
    });
    open.push(cache);
    let loads = 0;
    const request = {
      key: customersKeyFor('d1'),
      ttlMs: FIVE_MIN,
      tags: ['tenant:d1:customers'],
      load: async () => {
        loads++;
        return { data: [], hasMore: false };
      },
    };

    expect(await cache.get(request)).toEqual({ status: 'miss', value: { data: [], hasMore: false } });
    await cache.invalidateTags(['tenant:d1:customers']);
    expect(await cache.get(request)).toEqual({ status: 'miss', value: { data: [], hasMore: false } });

    expect(loads).toBe(2);
    expect(warnings.length).toBeGreaterThan(0);
    expect(cache.stats().backendErrors).toBeGreaterThanOrEqual(3);
  });
});

function customersKeyFor(tenant: string): string[] {
  return ['customers', tenant, 'list', ''];
}
